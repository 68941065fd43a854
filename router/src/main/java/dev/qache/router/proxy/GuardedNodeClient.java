package dev.qache.router.proxy;

import dev.qache.edge.ClusterTls;
import dev.qache.router.config.RouterConfig;
import dev.qache.router.security.Credentials;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.faulttolerance.api.TypedGuard;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import jakarta.enterprise.util.TypeLiteral;
import jakarta.inject.Singleton;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * The router's {@link NodeClient}: calls go out over a {@link NodeTransport} ({@link
 * PipelinedNodeTransport}, or Vert.x' client for TLS clusters and {@code
 * qache.router.node-transport=vertx}), guarded ones through a circuit breaker per node.
 */
/*
 * Circuit breaker per node (SmallRye Fault Tolerance, programmatic, no thread offload, so the call
 * stays on the event loop): when at least half of the last N guarded calls to a node failed to
 * get an answer (connection refused, timeout), calls to it fail fast for circuit-breaker-delay
 * instead of each waiting out the timeout; then one trial call decides. A node's own error
 * statuses are answers, not failures. Reads and writes have a breaker each: a read's short hedge
 * timeout against a slow primary is no reason to fail its writes.
 */
@Singleton
public class GuardedNodeClient implements NodeClient {

    private static final Logger LOG = Logger.getLogger(GuardedNodeClient.class);

    private final RouterConfig config;
    private final NodeTransport transport;

    /** Breakers by kind ("r " reads, "w " writes) and node, created on first use. */
    private final Map<String, TypedGuard<CompletionStage<NodeAnswer>>> breakers = new ConcurrentHashMap<>();

    /** Breakers open now; its size is the qache_router_open_circuits gauge. */
    private final Set<String> openCircuits = ConcurrentHashMap.newKeySet();

    GuardedNodeClient(
            Vertx vertx, RouterConfig config, Credentials credentials, ClusterTls tls, MeterRegistry registry) {
        this.config = config;
        if (tls.enabled() || config.nodeTransport() == RouterConfig.NodeTransportKind.VERTX) {
            this.transport = new VertxNodeTransport(vertx, config, credentials, tls);
        } else {
            this.transport = PipelinedNodeTransport.of(vertx, config, credentials);
        }
        LOG.debugf("calls to nodes over %s", transport.getClass().getSimpleName());
        Gauge.builder("qache.router.open.circuits", openCircuits, Set::size)
                .description("Nodes whose circuit breaker is open: calls to them fail fast")
                .register(registry);
    }

    @Override
    public Future<NodeAnswer> send(NodeCall call) {
        if (!call.guarded()) {
            return transport.exchange(call);
        }
        CompletionStage<NodeAnswer> guarded = breakerFor(call.node(), call.method() != HttpMethod.GET)
                .get(() -> transport.exchange(call).toCompletionStage());
        return Future.fromCompletionStage(guarded, Vertx.currentContext());
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
