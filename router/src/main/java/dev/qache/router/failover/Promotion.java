package dev.qache.router.failover;

import dev.qache.router.failover.FailureDetector.Health;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Who may be a shard's primary, decided from what the router last heard from each node: a pure
 * function of its inputs (statuses, health, lease times, the clock), so every rule is a row of a
 * table test. The router's failover performs what it decides; the probes carry the leases it
 * grants.
 *
 * <p>Rules (DESIGN.md, "Fencing and promotion"; the protocol's steps are in docs/ARCHITECTURE.md):
 *
 * <ol>
 *   <li>A primary gets a write lease with each probe only while the router has seen it stream a
 *       history no synced replica contradicts: a primary that restarted empty (a new history,
 *       behind a replica that holds its old one) gets none, so it takes no write and serves no
 *       replica.
 *   <li>Such a primary is replaced at once by the replica that holds the most of its old history
 *       (it cannot hold a lease: it never got one).
 *   <li>A primary that is DOWN is replaced by an <em>eligible</em> replica: answering, in its
 *       replica role, done with its sync, streaming the primary's history (or the one before it,
 *       up to where that ended), and behind the primary's last known offset by at most {@code
 *       maxLagBytes}. Of those, the one with the highest offset.
 *   <li>Not before every lease granted to the old primary has run out: the last one answered at
 *       {@code leaseAnsweredNanos}, so it ends on the node before {@code leaseAnsweredNanos +
 *       leaseNanos}, and the promotion waits until that plus a margin.
 *   <li>With no eligible replica the shard is {@link Blocked}: it takes no write until its primary
 *       comes back or an operator forces a promotion, and it says why.
 * </ol>
 */
public final class Promotion {

    /** A node's status as its last probe answered it ({@code GET /_internal/status}). */
    public record Status(
            String role,
            long epoch,
            boolean synced,
            @Nullable String primary,
            String history,
            String previousHistory,
            long previousEnd,
            long offset) {}

    /** A shard as the map has it. */
    public record Shard(String id, String primary, List<String> replicas) {}

    /** What to do about a shard now. */
    public sealed interface Decision {}

    /** Nothing to do: the primary serves. */
    public record Keep() implements Decision {}

    /** Make {@code replica} the primary. {@code mayLoseBytes} is -1 when not known. */
    public record Promote(String replica, String reason, long mayLoseBytes) implements Decision {}

    /** A replica is eligible, but the old primary's lease may still run until {@code untilNanos}. */
    public record Wait(String replica, long untilNanos) implements Decision {}

    /** No replica may take over: the shard takes no writes, for {@code reason}. */
    public record Blocked(String reason) implements Decision {}

    private static final String NO_HISTORY = "";

    private final long leaseNanos;
    private final long marginNanos;
    private final long maxLagBytes;

    public Promotion(long leaseNanos, long marginNanos, long maxLagBytes) {
        this.leaseNanos = leaseNanos;
        this.marginNanos = marginNanos;
        this.maxLagBytes = maxLagBytes;
    }

    /**
     * The history a probe of {@code shard}'s primary grants its lease for, or null for no lease
     * (rule 1). {@code statuses} are the last answers, by node.
     */
    public @Nullable String leaseFor(Shard shard, Map<String, Status> statuses) {
        Status primary = statuses.get(shard.primary());
        if (primary == null
                || !"primary".equals(primary.role())
                || primary.history().equals(NO_HISTORY)) {
            return null;
        }
        return holderOfLostHistory(shard, statuses) == null ? primary.history() : null;
    }

    /**
     * The decision for {@code shard} at {@code nowNanos}. {@code leaseAnsweredNanos} is when the
     * answer to the last lease granted to its primary arrived, or {@code Long.MIN_VALUE} for none.
     */
    public Decision decide(
            Shard shard,
            Map<String, Status> statuses,
            Map<String, Health> health,
            long leaseAnsweredNanos,
            long nowNanos) {
        Health primaryHealth = health.getOrDefault(shard.primary(), Health.UP);
        if (primaryHealth != Health.DOWN) {
            String holder = holderOfLostHistory(shard, statuses);
            if (holder != null) {
                Status primary = statuses.get(shard.primary());
                return new Promote(
                        holder,
                        "the primary restarted without its data (history " + primary.history() + " at offset "
                                + primary.offset() + "); " + holder + " holds its previous history up to offset "
                                + statuses.get(holder).offset(),
                        primary.offset());
            }
            return new Keep();
        }
        List<String> reasons = new ArrayList<>();
        String best = null;
        long bestOffset = -1;
        for (String replica : shard.replicas()) {
            String why = ineligibility(shard, replica, statuses, health);
            if (why != null) {
                reasons.add(replica + ": " + why);
                continue;
            }
            long offset = statuses.get(replica).offset();
            if (offset > bestOffset) {
                best = replica;
                bestOffset = offset;
            }
        }
        if (best == null) {
            return new Blocked(
                    shard.replicas().isEmpty()
                            ? "its primary " + shard.primary() + " is down and it has no replica"
                            : "its primary " + shard.primary() + " is down and no replica may take over without"
                                    + " losing data (" + String.join("; ", reasons) + ")");
        }
        long until = leaseEnd(leaseAnsweredNanos);
        if (leaseAnsweredNanos != Long.MIN_VALUE && until - nowNanos > 0) {
            return new Wait(best, until);
        }
        Status primary = statuses.get(shard.primary());
        return new Promote(best, "primary down", primary == null ? -1 : Math.max(0, primary.offset() - bestOffset));
    }

    /**
     * An operator's promotion of {@code replica} while the primary is down: any answering
     * replica, eligible or not, once the old primary's lease has run out; says what it may lose.
     */
    public Decision force(
            Shard shard,
            String replica,
            Map<String, Status> statuses,
            Map<String, Health> health,
            long leaseAnsweredNanos,
            long nowNanos) {
        Status status = statuses.get(replica);
        if (status == null || health.getOrDefault(replica, Health.UP) == Health.DOWN) {
            return new Blocked(replica + " does not answer");
        }
        long until = leaseEnd(leaseAnsweredNanos);
        if (leaseAnsweredNanos != Long.MIN_VALUE && until - nowNanos > 0) {
            return new Wait(replica, until);
        }
        String why = ineligibility(shard, replica, statuses, health);
        Status primary = statuses.get(shard.primary());
        long mayLose = primary == null || !status.synced() ? -1 : Math.max(0, primary.offset() - status.offset());
        return new Promote(
                replica,
                "forced, primary down" + (why == null ? "" : "; " + replica + " was not eligible: " + why),
                mayLose);
    }

    /** When every lease answered at {@code answeredNanos} has surely run out on the node. */
    private long leaseEnd(long answeredNanos) {
        return answeredNanos + leaseNanos + marginNanos;
    }

    /** Why {@code replica} may not replace the down primary automatically, or null if it may. */
    private @Nullable String ineligibility(
            Shard shard, String replica, Map<String, Status> statuses, Map<String, Health> health) {
        Status status = statuses.get(replica);
        if (status == null) {
            return "never answered";
        }
        if (health.getOrDefault(replica, Health.UP) == Health.DOWN) {
            return "down";
        }
        if (!"replica".equals(status.role())) {
            return "not in its replica role (" + status.role() + ")";
        }
        if (!status.synced() || status.history().equals(NO_HISTORY)) {
            return "still syncing";
        }
        Status primary = statuses.get(shard.primary());
        if (primary == null) {
            // The router never heard the primary: the replica's own word that it streams it.
            return shard.primary().equals(status.primary()) ? null : "streams another primary";
        }
        boolean sameHistory = status.history().equals(primary.history());
        boolean previousHistory =
                status.history().equals(primary.previousHistory()) && status.offset() <= primary.previousEnd();
        if (!sameHistory && !previousHistory) {
            return "streams another history (" + status.history() + ", the primary's is " + primary.history() + ")";
        }
        long lag = primary.offset() - status.offset();
        if (lag > maxLagBytes) {
            return lag + " bytes behind, more than max-replica-lag " + maxLagBytes;
        }
        return null;
    }

    /**
     * The replica that holds a history its primary has lost (rule 2), or null: synced, following
     * this primary, ahead of it, in a history the primary neither streams nor continues.
     */
    private static @Nullable String holderOfLostHistory(Shard shard, Map<String, Status> statuses) {
        Status primary = statuses.get(shard.primary());
        if (primary == null) {
            return null;
        }
        String holder = null;
        long holderOffset = -1;
        for (String replica : shard.replicas()) {
            Status status = statuses.get(replica);
            if (status == null
                    || !"replica".equals(status.role())
                    || !status.synced()
                    || status.history().equals(NO_HISTORY)
                    || !shard.primary().equals(status.primary())
                    || status.history().equals(primary.history())
                    || status.history().equals(primary.previousHistory())
                    || status.offset() <= primary.offset()) {
                continue;
            }
            if (status.offset() > holderOffset) {
                holder = replica;
                holderOffset = status.offset();
            }
        }
        return holder;
    }
}
