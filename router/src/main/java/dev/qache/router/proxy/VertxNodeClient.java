package dev.qache.router.proxy;

import dev.qache.edge.ClusterTls;
import dev.qache.protocol.Fencing;
import dev.qache.router.config.RouterConfig;
import dev.qache.router.security.Credentials;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.faulttolerance.api.TypedGuard;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import jakarta.enterprise.util.TypeLiteral;
import jakarta.inject.Singleton;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * {@link NodeClient} over Vert.x' HTTP client: pooled keep-alive connections, one pool per
 * event-loop thread, each call carrying this router's cluster token and map epoch.
 */
/*
 * One client, so one connection pool, per event-loop thread: a request and its forwarded call
 * then run on the same thread from start to end, with no hand-off between event loops (measured
 * in docs/BENCHMARKS.md, "Router: what a hop through it adds").
 *
 * Circuit breaker per node (SmallRye Fault Tolerance, programmatic, no thread offload, so the call
 * stays on the event loop): when at least half of the last N guarded calls to a node failed to
 * get an answer (connection refused, timeout), calls to it fail fast for circuit-breaker-delay
 * instead of each waiting out the timeout; then one trial call decides. A node's own error
 * statuses are answers, not failures. Reads and writes have a breaker each: a read's short hedge
 * timeout against a slow primary is no reason to fail its writes.
 */
@Singleton
public class VertxNodeClient implements NodeClient {

    private static final Logger LOG = Logger.getLogger(VertxNodeClient.class);

    private final Vertx vertx;
    private final RouterConfig config;
    private final Credentials credentials;
    private final HttpClientOptions clientOptions;
    private final PoolOptions poolOptions;
    private final ThreadLocal<HttpClient> clients = ThreadLocal.withInitial(this::newClient);

    /** Breakers by kind ("r " reads, "w " writes) and node, created on first use. */
    private final Map<String, TypedGuard<CompletionStage<NodeAnswer>>> breakers = new ConcurrentHashMap<>();

    /** Breakers open now; its size is the qache_router_open_circuits gauge. */
    private final Set<String> openCircuits = ConcurrentHashMap.newKeySet();

    /** host and port of each node address, parsed once. */
    private final Map<String, Address> addresses = new ConcurrentHashMap<>();

    private record Address(String host, int port) {}

    VertxNodeClient(Vertx vertx, RouterConfig config, Credentials credentials, ClusterTls tls, MeterRegistry registry) {
        this.vertx = vertx;
        this.config = config;
        this.credentials = credentials;
        int timeoutMillis = (int) config.forwardTimeout().toMillis();
        this.clientOptions = tls.apply(new HttpClientOptions()
                .setKeepAlive(true)
                .setTcpNoDelay(true)
                .setConnectTimeout(timeoutMillis)
                .setIdleTimeout(60)
                .setIdleTimeoutUnit(TimeUnit.SECONDS)
                .setPipelining(config.pipeliningLimit() > 1)
                .setPipeliningLimit(Math.max(1, config.pipeliningLimit())));
        this.poolOptions = new PoolOptions().setHttp1MaxSize(config.connectionsPerNode());
        Gauge.builder("qache.router.open.circuits", openCircuits, Set::size)
                .description("Nodes whose circuit breaker is open: calls to them fail fast")
                .register(registry);
    }

    private HttpClient newClient() {
        return vertx.createHttpClient(clientOptions, poolOptions);
    }

    @Override
    public Future<NodeAnswer> send(NodeCall call) {
        if (!call.guarded()) {
            return exchange(call);
        }
        CompletionStage<NodeAnswer> guarded = breakerFor(call.node(), call.method() != HttpMethod.GET)
                .get(() -> exchange(call).toCompletionStage());
        return Future.fromCompletionStage(guarded, Vertx.currentContext());
    }

    private Future<NodeAnswer> exchange(NodeCall call) {
        Address address = addresses.computeIfAbsent(call.node(), VertxNodeClient::parse);
        RequestOptions options = new RequestOptions()
                .setMethod(call.method())
                .setHost(address.host())
                .setPort(address.port())
                .setURI(call.uri())
                .setConnectTimeout(call.timeoutMillis())
                .setIdleTimeout(call.timeoutMillis())
                .putHeader(HttpHeaders.AUTHORIZATION, credentials.clusterAuthorization())
                .putHeader(Fencing.EPOCH, Long.toString(call.epoch()));
        if (call.contentType() != null) {
            options.putHeader(HttpHeaders.CONTENT_TYPE, call.contentType());
        }
        return clients.get()
                .request(options)
                .compose(request -> call.body() == null ? request.send() : request.send(call.body()))
                .compose(response ->
                        response.body().map(bytes -> new NodeAnswer(response.statusCode(), response.headers(), bytes)));
    }

    private static Address parse(String node) {
        int colon = node.lastIndexOf(':');
        return new Address(node.substring(0, colon), Integer.parseInt(node.substring(colon + 1)));
    }

    private TypedGuard<CompletionStage<NodeAnswer>> breakerFor(String node, boolean write) {
        return breakers.computeIfAbsent(
                (write ? "w " : "r ") + node,
                key -> TypedGuard.create(new TypeLiteral<CompletionStage<NodeAnswer>>() {})
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
}
