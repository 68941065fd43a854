package dev.qache.router.routing;

import dev.qache.protocol.Fencing;
import dev.qache.protocol.SlotCopy;
import dev.qache.protocol.Slots;
import dev.qache.router.cluster.ClusterMap;
import dev.qache.router.cluster.Shard;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Where a data call goes, and what follows each answer: a pure policy, events in and steps out,
 * with no I/O (the proxy's executor carries the steps out). {@link #plan} routes a new call by
 * the published map; {@link #afterAnswer} and {@link #afterFailure} say what to do with what a
 * node answered, or with a call that got no answer.
 */
/*
 * The rules, in the order they are tried after a call to a shard's node (DESIGN.md, "Distribution"
 * and "Fencing and promotion"):
 *
 *  1. A write refused with 421 took nothing. If the node names an epoch newer than the router's
 *     map, the router is still handing that map out: wait for it, then route again. If the map
 *     now names another primary (a promotion), send it there. If the node names another owner,
 *     follow it once.
 *  2. A write the node provably did not apply (no connection, the circuit open, refused with
 *     stale-map, write-lease-lapsed or paused) is routed again after a short pause, until the
 *     forward timeout from the call's arrival. When time runs out and the shard is blocked from
 *     writes (a promotion under way), the client is told why; otherwise it gets the last refusal.
 *  3. A replica in a full sync cannot answer for a key: the primary is asked, as the last try.
 *  4. Any other answer is the client's.
 *  5. A GET that got no answer tries the next node (primary, then a replica, and back) while
 *     attempts remain; anything else that got no answer is 503.
 *
 * A write is never sent twice unless rule 1 or 2 proves the first attempt took nothing: the
 * router cannot tell whether an unanswered write was applied.
 */
public final class Routing {

    /** The data calls the router carries. */
    public enum Method {
        GET,
        POST,
        DELETE;

        public boolean write() {
            return this != GET;
        }
    }

    /** What the router knows of a node's health, from its own probes. */
    public interface NodeView {
        boolean down(String node);

        /** Whether the node's last status said it is in a full sync (a replica holding part of the keys). */
        boolean syncing(String node);
    }

    /** How a call got no answer. */
    public enum Failure {
        /** The connection was refused: nothing was sent. */
        NOT_CONNECTED,
        /** The node's circuit is open: nothing was sent. */
        CIRCUIT_OPEN,
        /** Sent, but no answer in time (or the connection broke): it may have been applied. */
        NO_ANSWER
    }

    /**
     * A node's answer, as far as routing cares: its status, its {@code Qache-Refused} and {@code
     * Qache-Import} headers, and for a 421 the epoch and owner its problem body names (-1 and
     * null when none).
     */
    public record Reply(
            int status,
            @Nullable String refused,
            @Nullable String importState,
            long namedEpoch,
            @Nullable String namedOwner) {

        /** A replica in a full sync: not an answer about the key. */
        public boolean syncing() {
            return status == 503 && Fencing.SYNCING.equals(refused);
        }

        /** Refused before anything was applied. */
        public boolean notApplied() {
            return Fencing.STALE_MAP.equals(refused)
                    || Fencing.LEASE_LAPSED.equals(refused)
                    || Fencing.PAUSED.equals(refused);
        }
    }

    /** Where a new call goes first. */
    public sealed interface Plan {}

    /** The cluster has no shards: nothing can answer. */
    public record NoShard() implements Plan {}

    /** A call to {@code node} of {@code shard}; a GET has {@code attempts} tries. */
    public record Single(Shard shard, String node, int attempts) implements Plan {}

    /** The key's slot is being migrated from {@code from} to {@code to} (DESIGN.md, "Distribution" and "Migration"). */
    public record Migrating(Shard from, Shard to) implements Plan {}

    /** What follows an answer or a failure. */
    public sealed interface Step {}

    /** The answer goes to the client; {@code outcome} names it for the forward timer. */
    public record Relay(String outcome) implements Step {}

    /** Call {@code node} of {@code shard}, with {@code attempts} tries left (GETs). */
    public record Send(Shard shard, String node, int attempts) implements Step {}

    /** Hold the call until the map of {@code epoch} is published, then route it again. */
    public record AwaitMap(long epoch) implements Step {}

    /** Send the call once to the owner a 421 named; its answer, or else the refusal, is the client's. */
    public record FollowOwner(String owner) implements Step {}

    /**
     * Route the write again after {@code pauseMillis}; first hand {@code node} the router's map
     * ({@code pushMap}) or ask it to renew its write lease ({@code renewLease}).
     */
    public record RetryLater(long pauseMillis, String node, boolean pushMap, boolean renewLease) implements Step {}

    /** The client gets 503 with Retry-After; {@code outcome} names it for the forward timer. */
    public record Unavailable(String outcome, String detail) implements Step {}

    private final NodeView nodes;
    private final int getRetries;
    private final long forwardTimeoutMillis;
    private final long replicaReadAfterMillis;

    /** Rotates reads between a shard's replicas. */
    private final AtomicInteger replicaTurn = new AtomicInteger();

    public Routing(NodeView nodes, int getRetries, long forwardTimeoutMillis, long replicaReadAfterMillis) {
        this.nodes = nodes;
        this.getRetries = getRetries;
        this.forwardTimeoutMillis = forwardTimeoutMillis;
        this.replicaReadAfterMillis = replicaReadAfterMillis;
    }

    public long forwardTimeoutMillis() {
        return forwardTimeoutMillis;
    }

    /**
     * Where a call for {@code key} goes by {@code map}: a migrating slot's calls are the
     * executor's to split between source and target; a GET whose primary is down goes to a
     * replica at once; everything else to the shard's primary.
     */
    public Plan plan(ClusterMap map, Method method, byte[] key) {
        Optional<Shard> found = map.shardFor(key);
        if (found.isEmpty()) {
            return new NoShard();
        }
        Shard shard = found.get();
        String target = map.targetOf(Slots.of(key));
        if (target != null && map.shards().containsKey(target)) {
            return new Migrating(shard, map.shards().get(target));
        }
        if (method == Method.GET) {
            boolean primaryDown = nodes.down(shard.primary());
            String first = primaryDown && !shard.replicas().isEmpty() ? replicaOf(shard) : shard.primary();
            return new Single(shard, first, 1 + getRetries);
        }
        return new Single(shard, shard.primary(), 1);
    }

    /** The tries a GET has on its own (the first and the retries). */
    public int readAttempts() {
        return 1 + getRetries;
    }

    /**
     * How long a call to {@code node} may wait: a GET to a primary that has replicas waits only
     * {@code replica-read-after} before a replica is asked, unless it is the last try.
     */
    public long timeoutMillis(Method method, Shard shard, String node, int attempts) {
        return method == Method.GET
                        && attempts > 1
                        && node.equals(shard.primary())
                        && !shard.replicas().isEmpty()
                ? Math.min(forwardTimeoutMillis, replicaReadAfterMillis)
                : forwardTimeoutMillis;
    }

    /** The short wait on a primary before a replica is asked (a migrating read). */
    public long replicaReadAfterMillis() {
        return Math.min(forwardTimeoutMillis, replicaReadAfterMillis);
    }

    /**
     * Rules 1 to 4 for {@code reply} from {@code node} of {@code shard}. {@code published} is the
     * router's map now, {@code elapsedMillis} the time since the call arrived, {@code
     * blockedReason} why the shard takes no writes now (null when it does; asked only when needed).
     */
    public Step afterAnswer(
            Method method,
            Shard shard,
            String node,
            Reply reply,
            ClusterMap published,
            long elapsedMillis,
            Supplier<@Nullable String> blockedReason) {
        boolean write = method.write();
        if (write && reply.status() == 421) {
            if (reply.namedEpoch() > published.epoch()) {
                return new AwaitMap(reply.namedEpoch());
            }
            Shard now = published.shards().get(shard.id());
            if (now != null && !now.primary().equals(node)) {
                return new Send(now, now.primary(), 1);
            }
            String owner = reply.namedOwner();
            if (owner != null && !owner.equals(node)) {
                return new FollowOwner(owner);
            }
        }
        if (write && reply.notApplied()) {
            Step retry = retry(node, reply.refused(), elapsedMillis, blockedReason, shard);
            if (retry != null) {
                return retry;
            }
        }
        if (!write && !node.equals(shard.primary()) && reply.syncing()) {
            return new Send(shard, shard.primary(), 1);
        }
        return new Relay(node.equals(shard.primary()) ? "answered" : "answered-by-replica");
    }

    /** Rules 2 and 5 for a call to {@code node} that got no answer ({@code message} says why). */
    public Step afterFailure(
            Method method,
            Shard shard,
            String node,
            int attempts,
            Failure failure,
            String message,
            long elapsedMillis,
            Supplier<@Nullable String> blockedReason) {
        if (method.write() && failure != Failure.NO_ANSWER) {
            Step retry = retry(node, null, elapsedMillis, blockedReason, shard);
            if (retry != null) {
                return retry;
            }
        }
        if (attempts > 1) {
            // Only GETs have a second attempt: on a replica when the shard has one.
            String next = shard.replicas().isEmpty()
                    ? shard.primary()
                    : node.equals(shard.primary()) ? replicaOf(shard) : shard.primary();
            return new Send(shard, next, attempts - 1);
        }
        if (failure == Failure.CIRCUIT_OPEN) {
            return new Unavailable(
                    "circuit-open",
                    "the circuit to node " + node + " of shard " + shard.id()
                            + " is open after repeated failures; failing fast");
        }
        return new Unavailable(
                "unreachable", "node " + node + " of shard " + shard.id() + " did not answer: " + message);
    }

    /**
     * Rule 2: the retry of a write that took nothing, or the 503 naming why the shard takes no
     * writes once the time is up; null when time is up and the shard is not blocked (the last
     * answer or failure goes to the client).
     */
    private @Nullable Step retry(
            String node,
            @Nullable String refused,
            long elapsedMillis,
            Supplier<@Nullable String> blockedReason,
            Shard shard) {
        long pauseMillis = retryPauseMillis(elapsedMillis);
        if (elapsedMillis + pauseMillis >= forwardTimeoutMillis) {
            String why = blockedReason.get();
            return why == null
                    ? null
                    : new Unavailable("unavailable", "shard " + shard.id() + " takes no writes now: " + why);
        }
        return new RetryLater(
                pauseMillis, node, Fencing.STALE_MAP.equals(refused), Fencing.LEASE_LAPSED.equals(refused));
    }

    /** The pause before a write that took nothing is sent again: 10 ms, growing to 100 ms. */
    public static long retryPauseMillis(long elapsedMillis) {
        return Math.min(100, 10 + elapsedMillis / 4);
    }

    /**
     * Whether a read of a migrating slot has its answer from the target: anything but a 421 (the
     * target has not taken the migrating map) or a 404 saying the key may still be on the source
     * ({@code Qache-Import: pending}).
     */
    public static boolean targetIsFinal(Reply target) {
        boolean pending = target.status() == 404 && SlotCopy.PENDING.equals(target.importState());
        return target.status() != 421 && !pending;
    }

    /**
     * Whether a delete of a migrating slot is done on one side: it removed the key (204), found
     * none (404), or the node no longer serves the slot (a 421 naming another owner: the map moved
     * on, and that node holds none of the slot's keys).
     */
    public static boolean deleteSettled(Reply reply) {
        int status = reply.status();
        return status == 204 || status == 404 || (status == 421 && Fencing.MISDIRECTED.equals(reply.refused()));
    }

    /**
     * Which side's answer a migrating delete gives, both sides settled: 204 if either had the key
     * (the source's answer when only it had), else the target's. True for the source.
     */
    public static boolean deleteAnswersFromSource(Reply target, Reply source) {
        return target.status() != 204 && source.status() == 204;
    }

    /**
     * A replica for a read, rotating between the shard's replicas: one the detector does not call
     * down and whose last status says it is synced, else one not down, else the next in turn.
     */
    public String replicaOf(Shard shard) {
        List<String> replicas = shard.replicas();
        int start = Math.floorMod(replicaTurn.getAndIncrement(), replicas.size());
        return readReplica(replicas, start, nodes::down, nodes::syncing);
    }

    /** Whether the router's probes call {@code node} down. */
    public boolean down(String node) {
        return nodes.down(node);
    }

    /**
     * The replica a read goes to, looking from {@code start} round the list: the first neither
     * down nor syncing, else the first not down, else the one at {@code start}.
     */
    static String readReplica(
            List<String> replicas,
            int start,
            java.util.function.Predicate<String> down,
            java.util.function.Predicate<String> syncing) {
        String notDown = null;
        for (int i = 0; i < replicas.size(); i++) {
            String replica = replicas.get((start + i) % replicas.size());
            if (down.test(replica)) {
                continue;
            }
            if (!syncing.test(replica)) {
                return replica;
            }
            if (notDown == null) {
                notDown = replica;
            }
        }
        return notDown != null ? notDown : replicas.get(start);
    }
}
