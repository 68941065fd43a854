package dev.qache.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A node's state as {@code GET /_internal/status} reports it: written by the node, read by the
 * router's probes (failure detection, leases, promotion, migration) and shown by the admin API.
 * A reader ignores members it does not know and reads a missing one as nothing known (empty
 * history, offset 0, not synced), so nodes and routers of neighbouring releases understand each
 * other.
 *
 * @param self the address the node knows itself by (null before a map names it)
 * @param epoch the epoch of the map it holds
 * @param shard the shard it belongs to in that map (null when none)
 * @param role {@code primary}, {@code replica} or {@code none}
 * @param synced false only for a replica in a full sync (it holds part of its primary's keys)
 * @param replicationId the replication history it holds ({@code ""} mid-sync)
 * @param offset the offset of the last write its log holds (0 mid-sync)
 * @param previousId the history it continued from, after a promotion
 * @param previousEnd where that history ended
 * @param primary the primary it streams from, when it is a replica
 * @param link the state of that stream ({@code connecting}, {@code syncing}, {@code streaming}), when it is a replica
 * @param writesPaused whether a hand-off's pause is in force (writes refused until the map settles it)
 * @param replicas the replicas streaming from it, when it is a primary
 * @param leaseRemainingMillis how long its write lease at this epoch still runs
 * @param leaseGranted whether a lease was granted at this epoch, lapsed since or not
 * @param leaseNonce the nonce the next grant must name
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record NodeStatus(
        @Nullable String self,
        long epoch,
        @Nullable String shard,
        long keys,
        long memoryUsedBytes,
        long memoryLimitBytes,
        long hits,
        long misses,
        String role,
        boolean synced,
        String replicationId,
        long offset,
        String previousId,
        long previousEnd,
        long backlogStart,
        long backlogBytes,
        boolean writesPaused,
        @Nullable String primary,
        @Nullable String link,
        List<ReplicaSession> replicas,
        long fullSyncsReceived,
        long partialSyncsReceived,
        long fullSyncsServed,
        long partialSyncsServed,
        double lagP99Micros,
        long leaseRemainingMillis,
        boolean leaseGranted,
        long leaseNonce) {

    /** The node's role when it reports none. */
    public static final String NO_ROLE = "none";

    public NodeStatus {
        role = role == null ? NO_ROLE : role;
        replicationId = replicationId == null ? "" : replicationId;
        previousId = previousId == null ? "" : previousId;
        replicas = replicas == null ? List.of() : List.copyOf(replicas);
    }

    /** A replica streaming from this node, as its primary sees it. */
    public record ReplicaSession(
            String address, long acknowledgedOffset, long lagBytes, boolean syncing, long bufferedBytes) {}

    /** Whether the node is in its replica role (not named as a bean getter: it is no member of the JSON). */
    public boolean inReplicaRole() {
        return "replica".equals(role);
    }
}
