package dev.qache.router.proxy;

import dev.qache.protocol.KeyCodec;
import dev.qache.protocol.Problems;
import dev.qache.router.cluster.ClusterState;
import dev.qache.router.cluster.Shard;
import dev.qache.router.config.RouterConfig;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.faulttolerance.api.TypedGuard;
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
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException;
import org.jboss.logging.Logger;

/**
 * The data API on the router: each call goes to the primary of the shard that owns the key's slot,
 * over pooled keep-alive connections, and the node's status and body come back unchanged.
 *
 * <p>Under failure: every forwarded call is bounded by {@code qache.router.forward-timeout}; a GET
 * that fails is retried ({@code get-retries}), a write never is (it may have been applied); when no
 * answer comes the client gets {@code 503} with {@code Retry-After: 1}, never a hang. All of it
 * runs on the event loop that received the request.
 */
@Singleton
public class ProxyRoutes {

    private static final Logger LOG = Logger.getLogger(ProxyRoutes.class);
    private static final String KEY_PATH = "^/[^/]+$";
    private static final int ENVELOPE_BYTES = 64 * 1024;
    private static final CharSequence PROBLEM_JSON = HttpHeaders.createOptimized(Problems.MEDIA_TYPE);

    private final ClusterState cluster;
    private final RouterConfig config;
    private final HttpClient client;
    private final MeterRegistry registry;
    private final long timeoutMillis;

    /** One circuit breaker per node address, created on first use. */
    private final Map<String, TypedGuard<CompletionStage<Answer>>> breakers = new ConcurrentHashMap<>();

    /** Nodes whose breaker is open now; its size is the qache_router_open_circuits gauge. */
    private final Set<String> openCircuits = ConcurrentHashMap.newKeySet();

    ProxyRoutes(Vertx vertx, ClusterState cluster, RouterConfig config, MeterRegistry registry) {
        this.cluster = cluster;
        this.config = config;
        this.registry = registry;
        this.timeoutMillis = config.forwardTimeout().toMillis();
        this.client = vertx.createHttpClient(
                new HttpClientOptions()
                        .setKeepAlive(true)
                        .setTcpNoDelay(true)
                        .setConnectTimeout((int) timeoutMillis)
                        .setIdleTimeout(60)
                        .setIdleTimeoutUnit(TimeUnit.SECONDS),
                new PoolOptions().setHttp1MaxSize(config.connectionsPerNode()));
        Gauge.builder("qache.router.open.circuits", openCircuits, Set::size)
                .description("Nodes whose circuit breaker is open: calls to them fail fast")
                .register(registry);
    }

    /*
     * Circuit breaker per node (SmallRye Fault Tolerance, programmatic, no thread offload, so the
     * call stays on the event loop): when at least half of the last N forwarded calls to a node
     * failed to get an answer (connection refused, timeout), calls to it fail fast with 503 for
     * circuit-breaker-delay instead of each waiting out the timeout; then one trial call decides.
     * A node's own error statuses are answers, not failures.
     */
    private TypedGuard<CompletionStage<Answer>> breakerFor(String node) {
        return breakers.computeIfAbsent(
                node,
                n -> TypedGuard.create(new TypeLiteral<CompletionStage<Answer>>() {})
                        .withCircuitBreaker()
                        .requestVolumeThreshold(config.circuitBreakerVolume())
                        .failureRatio(0.5)
                        .delay(config.circuitBreakerDelay().toMillis(), ChronoUnit.MILLIS)
                        .successThreshold(1)
                        .onStateChange(state -> {
                            if (state == CircuitBreakerState.OPEN) {
                                openCircuits.add(n);
                                LOG.warnf(
                                        "circuit to node %s opened: calls to it fail fast for %s",
                                        n, config.circuitBreakerDelay());
                            } else if (openCircuits.remove(n)) {
                                LOG.infof("circuit to node %s is %s", n, state);
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
        router.routeWithRegex(HttpMethod.GET, KEY_PATH).handler(this::forward);
        router.routeWithRegex(HttpMethod.DELETE, KEY_PATH).handler(this::forward);
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
        Optional<Shard> shard = cluster.current().shardFor(key.bytes());
        if (shard.isEmpty()) {
            unavailable(ctx.response(), "the cluster has no shards yet");
            return;
        }
        HttpMethod method = ctx.request().method();
        Buffer body = method == HttpMethod.POST ? ctx.body().buffer() : null;
        int attempts = method == HttpMethod.GET ? 1 + config.getRetries() : 1;
        send(ctx, shard.get(), method, body, attempts, System.nanoTime());
    }

    private void send(
            RoutingContext ctx, Shard shard, HttpMethod method, Buffer body, int attemptsLeft, long startNanos) {
        String primary = shard.primary();
        int colon = primary.lastIndexOf(':');
        RequestOptions options = new RequestOptions()
                .setMethod(method)
                .setHost(primary.substring(0, colon))
                .setPort(Integer.parseInt(primary.substring(colon + 1)))
                .setURI(ctx.request().uri())
                .setConnectTimeout(timeoutMillis)
                .setIdleTimeout(timeoutMillis);
        String contentType = ctx.request().getHeader(HttpHeaders.CONTENT_TYPE);
        if (contentType != null) {
            options.putHeader(HttpHeaders.CONTENT_TYPE, contentType);
        }
        breakerFor(primary)
                .get(() -> client.request(options)
                        .compose(request -> body == null ? request.send() : request.send(body))
                        .compose(response -> response.body().map(bytes -> new Answer(response, bytes)))
                        .toCompletionStage())
                .whenComplete((answer, failure) -> {
                    if (ctx.response().ended() || ctx.response().closed()) {
                        return;
                    }
                    if (failure == null) {
                        record(shard, "answered", startNanos);
                        relay(ctx.response(), answer);
                    } else if (failure instanceof CircuitBreakerOpenException) {
                        record(shard, "circuit-open", startNanos);
                        unavailable(
                                ctx.response(),
                                "the circuit to the primary of shard " + shard.id() + " (" + primary
                                        + ") is open after repeated failures; failing fast");
                    } else if (attemptsLeft > 1) {
                        send(ctx, shard, method, body, attemptsLeft - 1, startNanos);
                    } else {
                        record(shard, "unreachable", startNanos);
                        unavailable(
                                ctx.response(),
                                "the primary of shard " + shard.id() + " (" + primary + ") did not answer: "
                                        + failure.getMessage());
                    }
                });
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
        Timer.builder("qache.router.forward")
                .description("Calls forwarded to a shard's primary, by shard and outcome")
                .tag("shard", shard.id())
                .tag("outcome", outcome)
                .register(registry)
                .record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
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
