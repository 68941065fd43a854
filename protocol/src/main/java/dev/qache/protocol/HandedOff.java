package dev.qache.protocol;

/**
 * A primary's answer to {@code POST /_internal/handoff?to=...}: its writes are paused and the
 * replica has acknowledged every one of them.
 *
 * @param offset the last offset the primary wrote, which the replica holds
 * @param replicationId the history that offset belongs to
 */
public record HandedOff(long offset, String replicationId) {

    public HandedOff {
        replicationId = replicationId == null ? "" : replicationId;
    }
}
