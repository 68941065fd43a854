package dev.qache.router.proxy;

import dev.qache.edge.ClusterTls;
import dev.qache.protocol.Fencing;
import dev.qache.protocol.KeyCodec;
import dev.qache.protocol.Problems;
import dev.qache.protocol.SlotCopy;
import dev.qache.protocol.Slots;
import dev.qache.router.cluster.ClusterMap;
import dev.qache.router.cluster.ClusterState;
import dev.qache.router.cluster.MapPusher;
import dev.qache.router.cluster.Shard;
import dev.qache.router.config.RouterConfig;
import dev.qache.router.failover.Availability;
import dev.qache.router.failover.FailureDetector;
import dev.qache.router.failover.NodeMonitor;
import dev.qache.router.latency.ClientLatency;
import dev.qache.router.security.Credentials;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.faulttolerance.api.TypedGuard;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.util.TypeLiteral;
import jakarta.inject.Singleton;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException;
import org.jboss.logging.Logger;

/**
 * The data API on the router: each call goes to the primary of the shard that owns the key's slot,
 * over pooled keep-alive connections, and the node's status and body come back unchanged.
 *
 * <p>Under failure: every forwarded call is bounded by {@code qache.router.forward-timeout}; a GET
 * that fails is retried ({@code get-retries}). A write is sent again only when the router knows it
 * was not applied (no connection was made, the circuit is open, or the node refused it with
 * {@code Qache-Refused}), to the primary the map names by then, until the forward timeout from when
 * the request arrived: a failover or a short pause then costs the client time, not an error. When
 * no answer comes the client gets {@code 503} with {@code Retry-After: 1}, never a hang. Every call
 * carries the epoch of the router's map ({@code Qache-Epoch}). All of it runs on the event loop
 * that received the request.
 */
@Singleton
public class ProxyRoutes {

    private static final Logger LOG = Logger.getLogger(ProxyRoutes.class);
    private static final String KEY_PATH = "^/[^/]+$";

    /** How long a map change may spend handing the map to the primaries before it is published. */
    private static final long MAP_PUBLISH_WAIT_MILLIS = 2_000;

    private static final int ENVELOPE_BYTES = 64 * 1024;
    private static final CharSequence PROBLEM_JSON = HttpHeaders.createOptimized(Problems.MEDIA_TYPE);

    private final ClusterState cluster;

    /** Writes held until this router publishes the map a node already has (see {@link #awaitNewerMap}). */
    private final java.util.Queue<EpochWaiter> epochWaiters = new java.util.concurrent.ConcurrentLinkedQueue<>();

    private record EpochWaiter(long epoch, Runnable run) {}

    private final RouterConfig config;
    private final Vertx vertx;
    private final HttpClientOptions clientOptions;
    private final PoolOptions poolOptions;

    /**
     * One client, so one connection pool, per event-loop thread: a request and its forwarded call
     * then run on the same thread from start to end, with no hand-off between event loops.
     */
    private final ThreadLocal<HttpClient> clients = ThreadLocal.withInitial(this::newClient);

    private final MeterRegistry registry;
    private final long timeoutMillis;

    private final NodeMonitor monitor;
    private final long replicaReadAfterMillis;
    private final AtomicInteger replicaTurn = new AtomicInteger();

    /** Forward timers by "shard/outcome", so a request does not build and look up tags. */
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();

    /**
     * Circuit breakers per node address and kind of call ("r" reads, "w" writes), created on first
     * use: a read's short hedge timeout against a slow primary is no reason to fail its writes.
     */
    private final Map<String, TypedGuard<CompletionStage<Answer>>> breakers = new ConcurrentHashMap<>();

    /** Nodes whose breaker is open now; its size is the qache_router_open_circuits gauge. */
    private final Set<String> openCircuits = ConcurrentHashMap.newKeySet();

    private final Credentials credentials;
    private final Availability availability;
    private final MapPusher pusher;
    private final ClientLatency latency;

    ProxyRoutes(
            Vertx vertx,
            ClusterState cluster,
            RouterConfig config,
            MeterRegistry registry,
            NodeMonitor monitor,
            Credentials credentials,
            ClusterTls tls,
            Availability availability,
            MapPusher pusher,
            ClientLatency latency) {
        this.cluster = cluster;
        this.latency = latency;
        this.availability = availability;
        this.pusher = pusher;
        this.credentials = credentials;
        cluster.onChange(map -> releaseWaiters(map.epoch()));
        this.monitor = monitor;
        this.replicaReadAfterMillis = config.replicaReadAfter().toMillis();
        this.config = config;
        this.registry = registry;
        this.timeoutMillis = config.forwardTimeout().toMillis();
        this.vertx = vertx;
        this.clientOptions = tls.apply(new HttpClientOptions()
                .setKeepAlive(true)
                .setTcpNoDelay(true)
                .setConnectTimeout((int) timeoutMillis)
                .setIdleTimeout(60)
                .setIdleTimeoutUnit(TimeUnit.SECONDS));
        this.poolOptions = new PoolOptions().setHttp1MaxSize(config.connectionsPerNode());
        Gauge.builder("qache.router.open.circuits", openCircuits, Set::size)
                .description("Nodes whose circuit breaker is open: calls to them fail fast")
                .register(registry);
    }

    private HttpClient newClient() {
        return vertx.createHttpClient(clientOptions, poolOptions);
    }

    /*
     * Circuit breaker per node (SmallRye Fault Tolerance, programmatic, no thread offload, so the
     * call stays on the event loop): when at least half of the last N forwarded calls to a node
     * failed to get an answer (connection refused, timeout), calls to it fail fast with 503 for
     * circuit-breaker-delay instead of each waiting out the timeout; then one trial call decides.
     * A node's own error statuses are answers, not failures.
     */
    private TypedGuard<CompletionStage<Answer>> breakerFor(String node, boolean write) {
        return breakers.computeIfAbsent(
                (write ? "w " : "r ") + node,
                key -> TypedGuard.create(new TypeLiteral<CompletionStage<Answer>>() {})
                        .withCircuitBreaker()
                        .requestVolumeThreshold(config.circuitBreakerVolume())
                        .failureRatio(0.5)
                        .delay(config.circuitBreakerDelay().toMillis(), ChronoUnit.MILLIS)
                        .successThreshold(1)
                        .onStateChange(state -> {
                            String n = (write ? "writes to " : "reads from ") + node;
                            if (state == CircuitBreakerState.OPEN) {
                                openCircuits.add(key);
                                LOG.warnf(
                                        "circuit for %s opened: they fail fast for %s",
                                        n, config.circuitBreakerDelay());
                            } else if (openCircuits.remove(key)) {
                                LOG.infof("circuit for %s is %s", n, state);
                            }
                        })
                        .done()
                        .withThreadOffload(false)
                        .build());
    }

    void register(@Observes Router router) {
        BodyHandler body = BodyHandler.create(false)
                .setBodyLimit(config.maxValueSize().asLongValue() + ENVELOPE_BYTES)
                .setPreallocateBodyBuffer(true);
        // With qache.data.tokens set, each route's first handler checks the token. The POST route
        // checks it before its body is read: the guard is a route of its own, registered first.
        credentials.data(router.routeWithRegex(HttpMethod.GET, KEY_PATH)).handler(this::forward);
        credentials.data(router.routeWithRegex(HttpMethod.DELETE, KEY_PATH)).handler(this::forward);
        if (credentials.dataIsProtected()) {
            credentials.data(router.routeWithRegex(HttpMethod.POST, KEY_PATH));
        }
        router.routeWithRegex(HttpMethod.POST, KEY_PATH)
                .handler(body)
                .handler(this::forward)
                .failureHandler(ctx -> {
                    if (!ctx.response().ended()) {
                        problem(
                                ctx.response(),
                                ctx.statusCode() == 413 ? 413 : 500,
                                ctx.statusCode() == 413 ? "value-too-large" : "internal",
                                ctx.statusCode() == 413 ? "Content Too Large" : "Internal Server Error",
                                ctx.statusCode() == 413
                                        ? "the body is too large; the limit is "
                                                + config.maxValueSize().asLongValue() + " bytes"
                                        : "the router failed");
                    }
                });
        router.routeWithRegex(KEY_PATH).handler(ctx -> {
            ctx.response().headers().set(HttpHeaders.ALLOW, "GET, POST, DELETE");
            problem(
                    ctx.response(),
                    405,
                    "method-not-allowed",
                    "Method Not Allowed",
                    ctx.request().method().name() + " is not part of the data API; use GET, POST or DELETE");
        });
        router.route("/")
                .handler(ctx -> problem(
                        ctx.response(),
                        400,
                        "bad-key",
                        "Bad Request",
                        "the key is empty: use /{key} with a key of 1 to " + config.maxKeySize() + " bytes"));
    }

    private void forward(RoutingContext ctx) {
        KeyCodec.Key key;
        try {
            key = KeyCodec.decode(ctx.request().path(), config.maxKeySize());
        } catch (KeyCodec.BadKeyException e) {
            problem(ctx.response(), 400, "bad-key", "Bad Request", e.getMessage());
            return;
        }
        ClusterMap map = cluster.current();
        Optional<Shard> found = map.shardFor(key.bytes());
        if (found.isEmpty()) {
            unavailable(ctx.response(), "the cluster has no shards yet");
            return;
        }
        Shard shard = found.get();
        HttpMethod method = ctx.request().method();
        long startNanos = System.nanoTime();
        String target = map.targetOf(Slots.of(key.bytes()));
        if (target != null && map.shards().containsKey(target)) {
            migrating(ctx, shard, map.shards().get(target), method, startNanos);
            return;
        }
        if (method == HttpMethod.GET) {
            // A primary known to be down is not waited for: a replica answers at once.
            boolean primaryDown = monitor.health(shard.primary()) == FailureDetector.Health.DOWN;
            String first = primaryDown && !shard.replicas().isEmpty() ? replicaOf(shard) : shard.primary();
            send(ctx, shard, first, method, null, 1 + config.getRetries(), startNanos);
            return;
        }
        Buffer body = method == HttpMethod.POST ? ctx.body().buffer() : null;
        send(ctx, shard, shard.primary(), method, body, 1, startNanos);
    }

    /*
     * A slot being migrated, from shard `from` to shard `to` (DESIGN.md): writes go to the target;
     * reads try the target and, on a miss the target cannot vouch for, the source (the key may not
     * be copied yet); deletes go to both, and the answer is 204 if either had the key.
     */
    private void migrating(RoutingContext ctx, Shard from, Shard to, HttpMethod method, long startNanos) {
        Buffer body = method == HttpMethod.POST ? ctx.body().buffer() : null;
        Future<Answer> answer;
        if (method == HttpMethod.GET) {
            // The target's answer is final unless it is a 404 saying the key may still be on the
            // source (SlotCopy.IMPORT: the target has no word on the key yet), or a 421 (the target
            // has not taken the migrating map, so it took no write of the slot and the source has
            // the key). A target that does not answer at all fails the read: only the target knows
            // whether the key changed since the migration began, and the source's value may be one
            // its writer replaced.
            answer = read(ctx, to).compose(target -> {
                int status = target.response().statusCode();
                boolean pending = status == 404
                        && SlotCopy.PENDING.equals(target.response().getHeader(SlotCopy.IMPORT));
                if (status != 421 && !pending) {
                    return Future.succeededFuture(target);
                }
                return read(ctx, from).compose(b -> {
                    // The source took the new map meanwhile (the slot has flipped): it names the
                    // owner, which now has every key of the slot.
                    String owner = b.response().statusCode() == 421 ? ownerNamedBy(b) : null;
                    return owner != null ? onceRetried(ctx, owner, 1 + config.getRetries()) : Future.succeededFuture(b);
                });
            });
        } else if (method == HttpMethod.DELETE) {
            // Both sides must apply the delete: the target, where the key now lives, and the
            // source, whose copy could otherwise bring the key back (after a failover of the
            // target, whose new primary may not know of a delete that found nothing). A side that
            // refuses (paused by a hand-off, without a lease, with an older map) is asked again
            // until the forward timeout; the answer is 204 if either side had the key.
            Future<Answer> first = deleteApplied(ctx, to.id(), startNanos);
            Future<Answer> source = deleteApplied(ctx, from.id(), startNanos);
            answer = Future.join(first, source).transform(ignored -> {
                for (Future<Answer> side : List.of(first, source)) {
                    if (side.failed() || !deleteSettled(side.result())) {
                        return side;
                    }
                }
                boolean live = first.result().response().statusCode() == 204
                        || source.result().response().statusCode() == 204;
                return live && first.result().response().statusCode() != 204 ? source : first;
            });
        } else {
            // A write goes to the target's primary by the usual path: its 421s and refusals
            // (the target may not hold a lease yet) are handled and retried there.
            send(ctx, to, to.primary(), method, body, 1, startNanos);
            return;
        }
        answer.onComplete(result -> {
            if (ctx.response().ended() || ctx.response().closed()) {
                return;
            }
            // A 421: the target took no write, holding another map than this router has
            // published. Wait for that map if it is newer, else follow the owner it names.
            if (result.succeeded()
                    && method == HttpMethod.POST
                    && result.result().response().statusCode() == 421
                    && (awaitNewerMap(ctx, result.result())
                            || followOwnerOnce(ctx, method, body, result.result(), to.primary()))) {
                return;
            }
            if (result.succeeded()) {
                record(to, "answered-migrating", startNanos);
                relay(ctx.response(), result.result());
            } else {
                record(to, "unreachable", startNanos);
                unavailable(
                        ctx.response(),
                        "shard " + to.id() + " (taking over the key's slot) did not answer: "
                                + result.cause().getMessage());
            }
        });
    }

    /**
     * The forwarded call to {@code node}: the client's URI and content type, bounded by {@code
     * timeout}, with this router's cluster token (a node with data tokens takes it; the client's
     * own Authorization is not passed on).
     */
    private RequestOptions options(RoutingContext ctx, String node, HttpMethod method, long timeout) {
        int colon = node.lastIndexOf(':');
        RequestOptions options = new RequestOptions()
                .setMethod(method)
                .setHost(node.substring(0, colon))
                .setPort(Integer.parseInt(node.substring(colon + 1)))
                .setURI(ctx.request().uri())
                .setConnectTimeout(timeout)
                .setIdleTimeout(timeout)
                .putHeader(HttpHeaders.AUTHORIZATION, credentials.clusterAuthorization())
                .putHeader(Fencing.EPOCH, Long.toString(cluster.current().epoch()));
        String contentType = ctx.request().getHeader(HttpHeaders.CONTENT_TYPE);
        if (contentType != null) {
            options.putHeader(HttpHeaders.CONTENT_TYPE, contentType);
        }
        return options;
    }

    /** One forwarded call, bounded by the forward timeout, without retry. */
    private Future<Answer> once(RoutingContext ctx, String node, HttpMethod method, Buffer body) {
        return once(ctx, node, method, body, timeoutMillis);
    }

    private Future<Answer> once(RoutingContext ctx, String node, HttpMethod method, Buffer body, long timeout) {
        return clients.get()
                .request(options(ctx, node, method, timeout))
                .compose(request -> body == null ? request.send() : request.send(body))
                .compose(response -> response.body().map(bytes -> new Answer(response, bytes)));
    }

    /** A GET to {@code node}, sent again (up to {@code attempts} in all) while no answer comes. */
    private Future<Answer> onceRetried(RoutingContext ctx, String node, int attempts) {
        Future<Answer> call = once(ctx, node, HttpMethod.GET, null);
        return attempts <= 1 ? call : call.recover(failure -> onceRetried(ctx, node, attempts - 1));
    }

    /**
     * A GET from {@code shard} as the usual path makes it: its primary, or a replica once the
     * primary is down or has not answered within {@code replica-read-after}; without replicas,
     * the primary with the GET retries.
     */
    private Future<Answer> read(RoutingContext ctx, Shard shard) {
        if (shard.replicas().isEmpty()) {
            return onceRetried(ctx, shard.primary(), 1 + config.getRetries());
        }
        if (monitor.health(shard.primary()) == FailureDetector.Health.DOWN) {
            return once(ctx, replicaOf(shard), HttpMethod.GET, null)
                    .compose(answer -> syncing(answer) ? primaryOr(ctx, shard, answer) : Future.succeededFuture(answer))
                    .recover(failure -> once(ctx, shard.primary(), HttpMethod.GET, null));
        }
        return once(ctx, shard.primary(), HttpMethod.GET, null, Math.min(timeoutMillis, replicaReadAfterMillis))
                .recover(failure -> once(ctx, replicaOf(shard), HttpMethod.GET, null)
                        .compose(answer ->
                                syncing(answer) ? primaryOr(ctx, shard, answer) : Future.succeededFuture(answer)));
    }

    /** The primary's answer to a GET, or {@code fallback} if the primary gives none. */
    private Future<Answer> primaryOr(RoutingContext ctx, Shard shard, Answer fallback) {
        return once(ctx, shard.primary(), HttpMethod.GET, null).recover(failure -> Future.succeededFuture(fallback));
    }

    /**
     * Whether {@code answer} is a replica's refusal to read because it is in a full sync (it
     * holds only part of the shard's keys): not an answer about the key, so another node is asked.
     */
    static boolean syncing(Answer answer) {
        return answer.response().statusCode() == 503
                && Fencing.SYNCING.equals(answer.response().getHeader(Fencing.REFUSED));
    }

    /**
     * A replica for a read, rotating between the shard's replicas: one the detector does not call
     * down and whose last status says it is synced, else one not down, else the next in turn.
     */
    private String replicaOf(Shard shard) {
        List<String> replicas = shard.replicas();
        int start = Math.floorMod(replicaTurn.getAndIncrement(), replicas.size());
        return readReplica(
                replicas, start, replica -> monitor.health(replica) == FailureDetector.Health.DOWN, replica -> {
                    io.vertx.core.json.JsonObject status = monitor.status(replica);
                    return status != null && !status.getBoolean("synced", true);
                });
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

    private void send(
            RoutingContext ctx,
            Shard shard,
            String node,
            HttpMethod method,
            Buffer body,
            int attemptsLeft,
            long startNanos) {
        boolean write = method != HttpMethod.GET;
        // A GET to a primary that has replicas gets a short wait, past which a replica is asked,
        // unless it is the last attempt.
        long timeout = method == HttpMethod.GET
                        && attemptsLeft > 1
                        && node.equals(shard.primary())
                        && !shard.replicas().isEmpty()
                ? Math.min(timeoutMillis, replicaReadAfterMillis)
                : timeoutMillis;
        RequestOptions options = options(ctx, node, method, timeout);
        HttpClient client = clients.get();
        breakerFor(node, write)
                .get(() -> client.request(options)
                        .compose(request -> body == null ? request.send() : request.send(body))
                        .compose(response -> response.body().map(bytes -> new Answer(response, bytes)))
                        .toCompletionStage())
                .whenComplete((answer, failure) -> {
                    if (ctx.response().ended() || ctx.response().closed()) {
                        return;
                    }
                    if (failure == null && answer.response().statusCode() == 421 && write) {
                        // The node took no write. Its map may be newer than the one this router
                        // has published yet: wait for that map, then route again.
                        if (awaitNewerMap(ctx, answer)) {
                            return;
                        }
                        // Or it is no longer the primary (a promotion just happened): once, send
                        // it where the map now says.
                        Shard now = cluster.current().shards().get(shard.id());
                        if (now != null && !now.primary().equals(node)) {
                            send(ctx, now, now.primary(), method, body, 1, startNanos);
                            return;
                        }
                        if (followOwnerOnce(ctx, method, body, answer, node)) {
                            return;
                        }
                    }
                    if (write
                            && notApplied(answer, failure)
                            && retryWrite(ctx, shard, node, method, body, startNanos, answer, failure)) {
                        return;
                    }
                    if (failure == null && !write && !node.equals(shard.primary()) && syncing(answer)) {
                        // A replica in a full sync cannot say whether the key exists: the primary
                        // is asked (again, if it was first), as the last attempt, with the whole
                        // forward timeout. A primary never answers "syncing": this ends there.
                        send(ctx, shard, shard.primary(), method, body, 1, startNanos);
                        return;
                    }
                    if (failure == null) {
                        record(shard, node.equals(shard.primary()) ? "answered" : "answered-by-replica", startNanos);
                        relay(ctx.response(), answer);
                    } else if (attemptsLeft > 1) {
                        // Only GETs have a second attempt: on a replica when the shard has one.
                        String next = shard.replicas().isEmpty()
                                ? shard.primary()
                                : node.equals(shard.primary()) ? replicaOf(shard) : shard.primary();
                        send(ctx, shard, next, method, body, attemptsLeft - 1, startNanos);
                    } else if (failure instanceof CircuitBreakerOpenException) {
                        record(shard, "circuit-open", startNanos);
                        unavailable(
                                ctx.response(),
                                "the circuit to node " + node + " of shard " + shard.id()
                                        + " is open after repeated failures; failing fast");
                    } else {
                        record(shard, "unreachable", startNanos);
                        unavailable(
                                ctx.response(),
                                "node " + node + " of shard " + shard.id() + " did not answer: "
                                        + failure.getMessage());
                    }
                });
    }

    /**
     * Whether a delete of a migrating slot is done on one side: it removed the key (204), found
     * none (404), or the node no longer serves the slot (a 421 naming another owner: the map moved
     * on, and that node holds none of the slot's keys).
     */
    private static boolean deleteSettled(Answer answer) {
        int status = answer.response().statusCode();
        return status == 204
                || status == 404
                || (status == 421
                        && Fencing.MISDIRECTED.equals(answer.response().getHeader(Fencing.REFUSED)));
    }

    /**
     * A DELETE to the primary of shard {@code shardId}, sent again to the primary the map names
     * then while it is refused before being applied, until the forward timeout from {@code
     * startNanos}: the last answer or failure.
     */
    private Future<Answer> deleteApplied(RoutingContext ctx, String shardId, long startNanos) {
        Shard shard = cluster.current().shards().get(shardId);
        if (shard == null) {
            return Future.failedFuture("shard " + shardId + " left the map");
        }
        String node = shard.primary();
        return once(ctx, node, HttpMethod.DELETE, null).transform(result -> {
            Answer answer = result.succeeded() ? result.result() : null;
            long elapsedMillis = (System.nanoTime() - startNanos) / 1_000_000L;
            long pauseMillis = Math.min(100, 10 + elapsedMillis / 4);
            if (!notApplied(answer, result.cause()) || elapsedMillis + pauseMillis >= timeoutMillis) {
                return result.succeeded() ? Future.succeededFuture(answer) : Future.failedFuture(result.cause());
            }
            String refused = answer == null ? null : answer.response().getHeader(Fencing.REFUSED);
            if (Fencing.STALE_MAP.equals(refused)) {
                pusher.pushTo(node, cluster.current());
            } else if (Fencing.LEASE_LAPSED.equals(refused)) {
                monitor.renewLeaseNow(node);
            }
            Promise<Answer> again = Promise.promise();
            Context context = Vertx.currentContext();
            vertx.setTimer(
                    pauseMillis,
                    id -> context.runOnContext(
                            ignored -> deleteApplied(ctx, shardId, startNanos).onComplete(again)));
            return again.future();
        });
    }

    /**
     * Whether a write's outcome proves it was not applied: no connection was made, the circuit
     * was open (nothing was sent), or the node refused it before applying anything.
     */
    private static boolean notApplied(Answer answer, Throwable failure) {
        if (failure != null) {
            Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
                    ? failure.getCause()
                    : failure;
            return cause instanceof CircuitBreakerOpenException || cause instanceof java.net.ConnectException;
        }
        String refused = answer.response().getHeader(Fencing.REFUSED);
        return Fencing.STALE_MAP.equals(refused)
                || Fencing.LEASE_LAPSED.equals(refused)
                || Fencing.PAUSED.equals(refused);
    }

    /*
     * A write not applied is sent again, after a short pause, to the primary the map names then
     * (a failover may have changed it meanwhile), for as long as the forward timeout allows from
     * when the request arrived. A node with an older map is sent the router's map at once. When
     * time runs out the client gets the last refusal, or 503 saying why the shard takes no writes.
     */
    private boolean retryWrite(
            RoutingContext ctx,
            Shard shard,
            String node,
            HttpMethod method,
            Buffer body,
            long startNanos,
            Answer answer,
            Throwable failure) {
        long elapsedMillis = (System.nanoTime() - startNanos) / 1_000_000L;
        long pauseMillis = Math.min(100, 10 + elapsedMillis / 4);
        if (elapsedMillis + pauseMillis >= timeoutMillis) {
            String why = availability.blockedReason(shard.id());
            if (why != null) {
                record(shard, "unavailable", startNanos);
                unavailable(ctx.response(), "shard " + shard.id() + " takes no writes now: " + why);
                return true;
            }
            return false;
        }
        String refused = failure == null ? answer.response().getHeader(Fencing.REFUSED) : null;
        if (Fencing.STALE_MAP.equals(refused)) {
            pusher.pushTo(node, cluster.current());
        } else if (Fencing.LEASE_LAPSED.equals(refused)) {
            monitor.renewLeaseNow(node);
        }
        Context context = Vertx.currentContext();
        vertx.setTimer(
                pauseMillis,
                id -> context.runOnContext(ignored -> {
                    if (ctx.response().ended() || ctx.response().closed()) {
                        return;
                    }
                    Shard now = cluster.current().shards().get(shard.id());
                    if (now == null) {
                        forward(ctx);
                        return;
                    }
                    send(ctx, now, now.primary(), method, body, 1, startNanos);
                }));
        return true;
    }

    /**
     * A write refused with 421 by a node whose map is newer than the one this router routes by:
     * the router is still handing that map to the primaries (it publishes once they have it), and
     * the owner the node names may not have it yet. The write is held until the map is published
     * and then routed again from the start; if that takes longer than the forward timeout plus the
     * push wait, it gets 503 with Retry-After. Returns false when the node's map is not newer.
     */
    private boolean awaitNewerMap(RoutingContext ctx, Answer refused) {
        long epoch = epochNamedBy(refused);
        if (epoch <= cluster.current().epoch()) {
            return false;
        }
        Context context = Vertx.currentContext();
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        EpochWaiter waiter = new EpochWaiter(epoch, () -> {
            if (done.compareAndSet(false, true)) {
                context.runOnContext(ignored -> {
                    if (!ctx.response().ended() && !ctx.response().closed()) {
                        forward(ctx);
                    }
                });
            }
        });
        epochWaiters.add(waiter);
        vertx.setTimer(timeoutMillis + MAP_PUBLISH_WAIT_MILLIS, id -> {
            if (done.compareAndSet(false, true)) {
                epochWaiters.remove(waiter);
                if (!ctx.response().ended() && !ctx.response().closed()) {
                    unavailable(ctx.response(), "the cluster map of epoch " + epoch + " is not published yet");
                }
            }
        });
        releaseWaiters(cluster.current().epoch()); // published meanwhile
        return true;
    }

    private void releaseWaiters(long published) {
        for (EpochWaiter waiter : epochWaiters) {
            if (waiter.epoch() <= published && epochWaiters.remove(waiter)) {
                waiter.run().run();
            }
        }
    }

    /**
     * A 421 from {@code node} that names another owner: the call goes there, once (nothing was
     * applied, so this is safe), and that answer, or the refusal if it fails, goes to the client.
     * Returns false, sending nothing, when the refusal names no other owner.
     */
    private boolean followOwnerOnce(RoutingContext ctx, HttpMethod method, Buffer body, Answer refused, String node) {
        String owner = ownerNamedBy(refused);
        if (owner == null || owner.equals(node)) {
            return false;
        }
        once(ctx, owner, method, body).onComplete(second -> {
            if (!ctx.response().ended() && !ctx.response().closed()) {
                relay(ctx.response(), second.succeeded() ? second.result() : refused);
            }
        });
        return true;
    }

    /** The {@code epoch} member of a 421 problem body, or -1. */
    private static long epochNamedBy(Answer answer) {
        try {
            Object epoch = answer.body().toJsonObject().getValue("epoch");
            return epoch instanceof Number n ? n.longValue() : -1;
        } catch (RuntimeException notJson) {
            return -1;
        }
    }

    /** The {@code owner} member of a 421 problem body, or null. */
    private static String ownerNamedBy(Answer answer) {
        try {
            Object owner = answer.body().toJsonObject().getValue("owner");
            return owner instanceof String address && address.lastIndexOf(':') > 0 ? address : null;
        } catch (RuntimeException notJson) {
            return null;
        }
    }

    private record Answer(HttpClientResponse response, Buffer body) {}

    private static void relay(HttpServerResponse out, Answer answer) {
        out.setStatusCode(answer.response().statusCode());
        for (CharSequence header : new CharSequence[] {HttpHeaders.CONTENT_TYPE, HttpHeaders.ALLOW, "Retry-After"}) {
            String value = answer.response().getHeader(header);
            if (value != null) {
                out.putHeader(header, value);
            }
        }
        out.end(answer.body());
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

    private static void unavailable(HttpServerResponse response, String detail) {
        response.putHeader("Retry-After", "1");
        problem(response, 503, "shard-unavailable", "Service Unavailable", detail);
    }

    private static void problem(HttpServerResponse response, int status, String slug, String title, String detail) {
        response.headers().set(HttpHeaders.CONTENT_TYPE, PROBLEM_JSON);
        response.setStatusCode(status).end(Buffer.buffer(Problems.body(status, slug, title, detail)));
    }
}
