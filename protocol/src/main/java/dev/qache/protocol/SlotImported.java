package dev.qache.protocol;

/**
 * A target node's answer to {@code POST /_internal/slots/{slot}/import}: the slot's keys are
 * copied from the source and applied here.
 *
 * @param keys keys copied
 * @param bytes their accounted bytes
 * @param attempt the router's attempt number the import ran for
 * @param replicationId the replication history the copy was written into
 * @param offset the offset of that history once the copy was applied: the copy is on a replica
 *     once the replica has reached it
 */
public record SlotImported(long keys, long bytes, long attempt, String replicationId, long offset) {

    public SlotImported {
        replicationId = replicationId == null ? "" : replicationId;
    }
}
