package dev.qache.router.proxy;

import dev.qache.protocol.Fencing;
import dev.qache.protocol.NodeStatus;
import dev.qache.router.cluster.ClusterState;
import dev.qache.router.cluster.Shard;
import dev.qache.router.config.RouterConfig;
import dev.qache.router.failover.Availability;
import dev.qache.router.failover.FailureDetector;
import dev.qache.router.failover.MapPusher;
import dev.qache.router.failover.NodeMonitor;
import dev.qache.router.latency.ClientLatency;
import dev.qache.router.routing.Routing;
import dev.qache.router.routing.Routing.Method;
import dev.qache.router.routing.Routing.Reply;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException;
import org.jspecify.annotations.Nullable;

/**
 * Carries a data call out: asks {@link Routing} where it goes and what follows each answer, and
 * performs those steps over the {@link NodeClient}, on the event loop that received the call.
 * The answer is the node's, unchanged, or 503 with why no node could give one.
 */
/*
 * A migrating slot's calls are split here (DESIGN.md, "Distribution" and "Migration"), each side by the usual rules:
 *
 *  - a read asks the target; if the target cannot vouch for the key (Routing.targetIsFinal), the
 *    source; and if the source names a new owner (the slot flipped meanwhile), that owner. A target
 *    that does not answer fails the read: only it knows whether the key changed since the
 *    migration began, and the source's value may be one its writer replaced;
 *  - a delete must land on both sides (the source's copy could otherwise bring the key back),
 *    each side retried while it is refused before applying, and answers 204 if either had the key;
 *  - a write goes to the target's primary by the usual path.
 */
@Singleton
public class Forwarder {

    /** How long a map change may spend handing the map to the primaries before it is published. */
    private static final long MAP_PUBLISH_WAIT_MILLIS = 2_000;

    /** A data call as the edge hands it on, timed from {@code startNanos}, named by {@code requestId} (X-Request-Id). */
    public record DataCall(
            Method method,
            byte[] key,
            String uri,
            @Nullable String contentType,
            @Nullable Buffer body,
            long startNanos,
            BooleanSupplier abandoned,
            String requestId) {

        HttpMethod httpMethod() {
            return switch (method) {
                case GET -> HttpMethod.GET;
                case POST -> HttpMethod.POST;
                case DELETE -> HttpMethod.DELETE;
            };
        }

        /** The same call with its time budget starting again (routed anew after waiting for a map). */
        DataCall restarted() {
            return new DataCall(method, key, uri, contentType, body, System.nanoTime(), abandoned, requestId);
        }
    }

    /** What the client gets: a node's answer ({@code answer}), or 503 saying why ({@code unavailable}). */
    public record Outcome(
            @Nullable NodeAnswer answer, @Nullable String unavailable) {

        static final Outcome ABANDONED = new Outcome(null, null);

        static Outcome answered(NodeAnswer answer) {
            return new Outcome(answer, null);
        }

        static Outcome unavailable(String why) {
            return new Outcome(null, why);
        }
    }

    /** Writes held until this router publishes the map a node already has. */
    private final Queue<EpochWaiter> epochWaiters = new ConcurrentLinkedQueue<>();

    private record EpochWaiter(long epoch, Runnable run) {}

    /** Forward timers by "shard/outcome", so a call does not build and look up tags. */
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();

    private final Vertx vertx;
    private final ClusterState cluster;
    private final NodeClient nodes;
    private final Routing routing;
    private final NodeMonitor monitor;
    private final MapPusher pusher;
    private final Availability availability;
    private final ClientLatency latency;
    private final MeterRegistry registry;

    Forwarder(
            Vertx vertx,
            ClusterState cluster,
            NodeClient nodes,
            RouterConfig config,
            NodeMonitor monitor,
            MapPusher pusher,
            Availability availability,
            ClientLatency latency,
            MeterRegistry registry) {
        this.vertx = vertx;
        this.cluster = cluster;
        this.nodes = nodes;
        this.monitor = monitor;
        this.pusher = pusher;
        this.availability = availability;
        this.latency = latency;
        this.registry = registry;
        this.routing = new Routing(
                new Routing.NodeView() {
                    @Override
                    public boolean down(String node) {
                        return monitor.health(node) == FailureDetector.Health.DOWN;
                    }

                    @Override
                    public boolean syncing(String node) {
                        NodeStatus status = monitor.status(node);
                        return status != null && !status.synced();
                    }
                },
                config.getRetries(),
                config.forwardTimeout().toMillis(),
                config.replicaReadAfter().toMillis());
        cluster.onChange(map -> releaseWaiters(map.epoch()));
    }

    /** Carries {@code call} out; the outcome is {@link Outcome#ABANDONED} once the client left. */
    public Future<Outcome> forward(DataCall call) {
        Promise<Outcome> done = Promise.promise();
        route(call, done);
        return done.future();
    }

    private void route(DataCall call, Promise<Outcome> done) {
        switch (routing.plan(cluster.current(), call.method(), call.key())) {
            case Routing.NoShard none -> done.tryComplete(Outcome.unavailable("the cluster has no shards yet"));
            case Routing.Single single -> send(call, single.shard(), single.node(), single.attempts(), done);
            case Routing.Migrating migrating -> migrating(call, migrating.from(), migrating.to(), done);
        }
    }

    /** A guarded call to {@code node} of {@code shard}, and whatever Routing says follows it. */
    private void send(DataCall call, Shard shard, String node, int attempts, Promise<Outcome> done) {
        long timeout = routing.timeoutMillis(call.method(), shard, node, attempts);
        nodes.send(nodeCall(call, node, call.httpMethod(), call.body(), timeout, true))
                .onComplete(result -> {
                    if (call.abandoned().getAsBoolean()) {
                        done.tryComplete(Outcome.ABANDONED);
                        return;
                    }
                    long elapsedMillis = elapsedMillis(call);
                    Routing.Step step = result.succeeded()
                            ? routing.afterAnswer(
                                    call.method(),
                                    shard,
                                    node,
                                    result.result().reply(),
                                    cluster.current(),
                                    elapsedMillis,
                                    () -> availability.blockedReason(shard.id()))
                            : routing.afterFailure(
                                    call.method(),
                                    shard,
                                    node,
                                    attempts,
                                    failureOf(result.cause()),
                                    String.valueOf(result.cause().getMessage()),
                                    elapsedMillis,
                                    () -> availability.blockedReason(shard.id()));
                    carryOut(call, shard, step, result.succeeded() ? result.result() : null, done);
                });
    }

    private void carryOut(
            DataCall call, Shard shard, Routing.Step step, @Nullable NodeAnswer answer, Promise<Outcome> done) {
        switch (step) {
            case Routing.Relay relay -> {
                record(shard, relay.outcome(), call.startNanos());
                done.tryComplete(Outcome.answered(answer));
            }
            case Routing.Send send -> send(call, send.shard(), send.node(), send.attempts(), done);
            case Routing.AwaitMap await -> awaitMap(call, await.epoch(), done);
            case Routing.FollowOwner follow ->
                once(call, follow.owner(), call.httpMethod(), call.body())
                        .onComplete(second ->
                                done.tryComplete(Outcome.answered(second.succeeded() ? second.result() : answer)));
            case Routing.RetryLater retry -> {
                nudge(retry.node(), retry.pushMap(), retry.renewLease());
                Context context = Vertx.currentContext();
                vertx.setTimer(
                        retry.pauseMillis(),
                        id -> context.runOnContext(ignored -> {
                            if (call.abandoned().getAsBoolean()) {
                                done.tryComplete(Outcome.ABANDONED);
                                return;
                            }
                            Shard now = cluster.current().shards().get(shard.id());
                            if (now == null) {
                                route(call.restarted(), done);
                            } else {
                                send(call, now, now.primary(), 1, done);
                            }
                        }));
            }
            case Routing.Unavailable unavailable -> {
                record(shard, unavailable.outcome(), call.startNanos());
                done.tryComplete(Outcome.unavailable(unavailable.detail()));
            }
        }
    }

    private void migrating(DataCall call, Shard from, Shard to, Promise<Outcome> done) {
        Future<NodeAnswer> answer;
        if (call.method() == Method.GET) {
            answer = read(call, to)
                    .compose(target -> Routing.targetIsFinal(target.reply())
                            ? Future.succeededFuture(target)
                            : read(call, from).compose(source -> {
                                // The source took the new map meanwhile (the slot has flipped): it names
                                // the owner, which now has every key of the slot.
                                String owner =
                                        source.status() == 421 ? source.reply().namedOwner() : null;
                                return owner != null
                                        ? onceRetried(call, owner, routing.readAttempts())
                                        : Future.succeededFuture(source);
                            }));
        } else if (call.method() == Method.DELETE) {
            Future<NodeAnswer> target = deleteApplied(call, to.id());
            Future<NodeAnswer> source = deleteApplied(call, from.id());
            answer = Future.join(target, source).transform(ignored -> {
                for (Future<NodeAnswer> side : List.of(target, source)) {
                    if (side.failed() || !Routing.deleteSettled(side.result().reply())) {
                        return side;
                    }
                }
                return Routing.deleteAnswersFromSource(
                                target.result().reply(), source.result().reply())
                        ? source
                        : target;
            });
        } else {
            send(call, to, to.primary(), 1, done);
            return;
        }
        answer.onComplete(result -> {
            if (call.abandoned().getAsBoolean()) {
                done.tryComplete(Outcome.ABANDONED);
            } else if (result.succeeded()) {
                record(to, "answered-migrating", call.startNanos());
                done.tryComplete(Outcome.answered(result.result()));
            } else {
                record(to, "unreachable", call.startNanos());
                done.tryComplete(
                        Outcome.unavailable("shard " + to.id() + " (taking over the key's slot) did not answer: "
                                + result.cause().getMessage()));
            }
        });
    }

    /**
     * A GET from {@code shard} as the usual path makes it: its primary, or a replica once the
     * primary is down or has not answered within {@code replica-read-after}; a replica in a full
     * sync hands over to the primary; without replicas, the primary with the GET retries.
     */
    private Future<NodeAnswer> read(DataCall call, Shard shard) {
        if (shard.replicas().isEmpty()) {
            return onceRetried(call, shard.primary(), routing.readAttempts());
        }
        if (routing.down(shard.primary())) {
            return once(call, routing.replicaOf(shard), HttpMethod.GET, null)
                    .compose(answer ->
                            answer.reply().syncing() ? primaryOr(call, shard, answer) : Future.succeededFuture(answer))
                    .recover(failure -> once(call, shard.primary(), HttpMethod.GET, null));
        }
        return nodes.send(
                        nodeCall(call, shard.primary(), HttpMethod.GET, null, routing.replicaReadAfterMillis(), false))
                .recover(failure -> once(call, routing.replicaOf(shard), HttpMethod.GET, null)
                        .compose(answer -> answer.reply().syncing()
                                ? primaryOr(call, shard, answer)
                                : Future.succeededFuture(answer)));
    }

    /** The primary's answer to a GET, or {@code fallback} if the primary gives none. */
    private Future<NodeAnswer> primaryOr(DataCall call, Shard shard, NodeAnswer fallback) {
        return once(call, shard.primary(), HttpMethod.GET, null).recover(failure -> Future.succeededFuture(fallback));
    }

    /** A GET to {@code node}, sent again (up to {@code attempts} in all) while no answer comes. */
    private Future<NodeAnswer> onceRetried(DataCall call, String node, int attempts) {
        Future<NodeAnswer> first = once(call, node, HttpMethod.GET, null);
        return attempts <= 1 ? first : first.recover(failure -> onceRetried(call, node, attempts - 1));
    }

    /**
     * A DELETE to the primary of shard {@code shardId}, sent again to the primary the map names
     * then while it is refused before being applied, until the forward timeout from the call's
     * arrival: the last answer or failure.
     */
    private Future<NodeAnswer> deleteApplied(DataCall call, String shardId) {
        Shard shard = cluster.current().shards().get(shardId);
        if (shard == null) {
            return Future.failedFuture("shard " + shardId + " left the map");
        }
        String node = shard.primary();
        return once(call, node, HttpMethod.DELETE, null).transform(result -> {
            long elapsedMillis = elapsedMillis(call);
            long pauseMillis = Routing.retryPauseMillis(elapsedMillis);
            Reply reply = result.succeeded() ? result.result().reply() : null;
            boolean notApplied =
                    reply != null ? reply.notApplied() : failureOf(result.cause()) != Routing.Failure.NO_ANSWER;
            if (!notApplied || elapsedMillis + pauseMillis >= routing.forwardTimeoutMillis()) {
                return settled(result);
            }
            String refused = reply == null ? null : reply.refused();
            nudge(node, Fencing.STALE_MAP.equals(refused), Fencing.LEASE_LAPSED.equals(refused));
            Promise<NodeAnswer> again = Promise.promise();
            Context context = Vertx.currentContext();
            vertx.setTimer(
                    pauseMillis,
                    id -> context.runOnContext(
                            ignored -> deleteApplied(call, shardId).onComplete(again)));
            return again.future();
        });
    }

    /** Before a refused write is sent again: hands {@code node} this router's map, or renews its lease. */
    private void nudge(String node, boolean pushMap, boolean renewLease) {
        if (pushMap) {
            pusher.pushTo(node, cluster.current());
        } else if (renewLease) {
            monitor.renewLeaseNow(node);
        }
    }

    private static Future<NodeAnswer> settled(AsyncResult<NodeAnswer> result) {
        return result.succeeded() ? Future.succeededFuture(result.result()) : Future.failedFuture(result.cause());
    }

    /** One unguarded call, bounded by the forward timeout, without retry. */
    private Future<NodeAnswer> once(DataCall call, String node, HttpMethod method, @Nullable Buffer body) {
        return nodes.send(nodeCall(call, node, method, body, routing.forwardTimeoutMillis(), false));
    }

    private NodeCall nodeCall(
            DataCall call, String node, HttpMethod method, @Nullable Buffer body, long timeoutMillis, boolean guarded) {
        return new NodeCall(
                node,
                method,
                call.uri(),
                call.contentType(),
                body,
                timeoutMillis,
                cluster.current().epoch(),
                guarded,
                call.requestId());
    }

    /**
     * How a call failed: nothing sent (connection refused, circuit open), or sent without an
     * answer (it may have been applied).
     */
    static Routing.Failure failureOf(Throwable failure) {
        Throwable cause =
                failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        if (cause instanceof CircuitBreakerOpenException) {
            return Routing.Failure.CIRCUIT_OPEN;
        }
        return cause instanceof java.net.ConnectException ? Routing.Failure.NOT_CONNECTED : Routing.Failure.NO_ANSWER;
    }

    /**
     * Holds {@code call} until this router publishes the map of {@code epoch} (a node refused it
     * with 421 holding that newer map: the router is still handing it to the primaries, and the
     * owner the node names may not have it yet), then routes it again from the start; past the
     * forward timeout plus the push wait, it gets 503.
     */
    private void awaitMap(DataCall call, long epoch, Promise<Outcome> done) {
        Context context = Vertx.currentContext();
        AtomicBoolean fired = new AtomicBoolean();
        EpochWaiter waiter = new EpochWaiter(epoch, () -> {
            if (fired.compareAndSet(false, true)) {
                context.runOnContext(ignored -> {
                    if (call.abandoned().getAsBoolean()) {
                        done.tryComplete(Outcome.ABANDONED);
                    } else {
                        route(call.restarted(), done);
                    }
                });
            }
        });
        epochWaiters.add(waiter);
        vertx.setTimer(routing.forwardTimeoutMillis() + MAP_PUBLISH_WAIT_MILLIS, id -> {
            if (fired.compareAndSet(false, true)) {
                epochWaiters.remove(waiter);
                done.tryComplete(Outcome.unavailable("the cluster map of epoch " + epoch + " is not published yet"));
            }
        });
        releaseWaiters(cluster.current().epoch()); // published meanwhile
    }

    private void releaseWaiters(long published) {
        for (EpochWaiter waiter : epochWaiters) {
            if (waiter.epoch() <= published && epochWaiters.remove(waiter)) {
                waiter.run().run();
            }
        }
    }

    private static long elapsedMillis(DataCall call) {
        return (System.nanoTime() - call.startNanos()) / 1_000_000L;
    }

    private void record(Shard shard, String outcome, long startNanos) {
        long nanos = System.nanoTime() - startNanos;
        latency.record(nanos);
        timers.computeIfAbsent(
                        shard.id() + '/' + outcome,
                        k -> Timer.builder("qache.router.forward")
                                .description("Calls forwarded to a shard's primary, by shard and outcome")
                                .tag("shard", shard.id())
                                .tag("outcome", outcome)
                                .register(registry))
                .record(nanos, TimeUnit.NANOSECONDS);
    }
}
