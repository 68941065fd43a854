package dev.qache.router.failover;

import dev.qache.router.cluster.ClusterMap;
import dev.qache.router.cluster.Shard;
import org.jspecify.annotations.Nullable;

/**
 * For which shard, if any, the router may grant {@code node} a write lease bound to a given map
 * epoch. A grant promises the node that it stays its shard's primary for the lease, so it is only
 * made when every map the router may route or push by keeps it that: the one published before the
 * current one (a primary that has not taken the current map yet), the current one, and the one
 * being committed (a change in flight, which the router pushes to the primaries before publishing
 * it). The grant's epoch is the one the node last said it holds, so that a primary that already
 * took the map in flight keeps its lease while the router waits for the slower primaries (a grant
 * for the current epoch would be refused by it).
 *
 * <p>A shard the change in flight adds (it is in no published map) has no primary to fence yet:
 * its primary may be granted a lease at the change's epoch, so that the map pushed to it before
 * publishing carries one. Writes of the slots moving to it are routed to it as soon as the map is
 * published; without a lease by then it refused them until its second probe (CI, and one local
 * run: writes of slots moving to a shard being added failed {@code write-lease-lapsed}).
 *
 * <p>Pure.
 */
public final class LeaseScope {

    private LeaseScope() {}

    /**
     * The id of the shard {@code node} may be granted a lease for at {@code epoch}, or null: the
     * node is primary of one shard in {@code current}, {@code epoch} is the epoch of {@code
     * previous}, {@code current} or {@code pending} and the node is primary of that shard in that
     * map, and a {@code pending} change, if any, keeps it primary of that shard; or the node is
     * primary of a shard that {@code pending} adds, and {@code epoch} is the pending one.
     */
    public static @Nullable String shardFor(
            String node, long epoch, @Nullable ClusterMap previous, ClusterMap current, @Nullable ClusterMap pending) {
        String shard = shardLedBy(current, node);
        if (shard == null) {
            String added = pending == null ? null : shardLedBy(pending, node);
            boolean joining = added != null && !current.shards().containsKey(added);
            return joining && epoch == pending.epoch() ? added : null;
        }
        if (pending != null && !shard.equals(shardLedBy(pending, node))) {
            return null; // a change in flight demotes it, or removes its shard
        }
        ClusterMap at = epoch == current.epoch()
                ? current
                : pending != null && epoch == pending.epoch()
                        ? pending
                        : previous != null && epoch == previous.epoch() ? previous : null;
        if (at == null || !shard.equals(shardLedBy(at, node))) {
            return null;
        }
        return shard;
    }

    /** The shard whose primary {@code map} names {@code node}, or null. */
    static @Nullable String shardLedBy(ClusterMap map, String node) {
        for (Shard shard : map.shards().values()) {
            if (shard.primary().equals(node)) {
                return shard.id();
            }
        }
        return null;
    }
}
