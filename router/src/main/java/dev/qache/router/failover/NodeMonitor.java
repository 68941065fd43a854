package dev.qache.router.failover;

import dev.qache.edge.ClusterTls;
import dev.qache.router.cluster.ClusterMap;
import dev.qache.router.cluster.ClusterState;
import dev.qache.router.cluster.Shard;
import dev.qache.router.config.RouterConfig;
import dev.qache.router.failover.FailureDetector.Health;
import dev.qache.router.failover.FailureDetector.Probe;
import dev.qache.router.failover.FailureDetector.Transition;
import dev.qache.router.security.Credentials;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * Probes every node of the map ({@code GET /_internal/status}) each probe interval, feeds the
 * answers to the {@link FailureDetector}, and keeps each node's last status (role, replication
 * offset, keys, memory) for failover and the admin API. Runs on one event loop.
 */
@Singleton
public class NodeMonitor {

    private static final Logger LOG = Logger.getLogger(NodeMonitor.class);

    private final Vertx vertx;
    private final ClusterState cluster;
    private final Credentials credentials;
    private final RouterConfig.Failover config;
    private final HttpClient client;
    private final FailureDetector detector;
    private final Map<String, Health> health = new ConcurrentHashMap<>();
    private final Map<String, JsonObject> statuses = new ConcurrentHashMap<>();
    private final long startedNanos = System.nanoTime();
    private final List<Consumer<Transition>> listeners = new CopyOnWriteArrayList<>();
    private Context context;

    NodeMonitor(Vertx vertx, ClusterState cluster, Credentials credentials, ClusterTls tls, RouterConfig config) {
        this.vertx = vertx;
        this.cluster = cluster;
        this.credentials = credentials;
        this.config = config.failover();
        this.client = vertx.createHttpClient(tls.apply(
                new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true).setConnectTimeout((int)
                        this.config.probeTimeout().toMillis())));
        this.detector = new FailureDetector(this.config.probeTimeout().toNanos(), this.config.failureThreshold());
    }

    void start(@Observes StartupEvent started) {
        context = vertx.getOrCreateContext();
        context.runOnContext(ignored ->
                vertx.setPeriodic(0, Math.max(10, config.probeInterval().toMillis()), id -> tick()));
    }

    /** Called (on the monitor's event loop) with every change of a node's health. */
    public void onTransition(Consumer<Transition> listener) {
        listeners.add(listener);
    }

    public Health health(String node) {
        return health.getOrDefault(node, Health.UP);
    }

    /**
     * Whether this router has heard from the node since it started. A node that has not answered
     * yet may just be slow to start, like the router itself.
     */
    public boolean answeredSinceStart(String node) {
        return statuses.containsKey(node);
    }

    /** How long this router's monitor has been running. */
    public java.time.Duration uptime() {
        return java.time.Duration.ofNanos(System.nanoTime() - startedNanos);
    }

    /** The node's last answered status, or null if it never answered. */
    public JsonObject status(String node) {
        return statuses.get(node);
    }

    /** Asks a node for its status now, outside the probe schedule (for a forced promotion). */
    public Future<JsonObject> fetchStatus(String node) {
        return fetchStatus(node, config.probeTimeout().toMillis());
    }

    /** {@link #fetchStatus(String)} with its own timeout (a node just started answers slowly at first). */
    public Future<JsonObject> fetchStatus(String node, long timeoutMillis) {
        int colon = node.lastIndexOf(':');
        RequestOptions request = new RequestOptions()
                .setMethod(HttpMethod.GET)
                .setHost(node.substring(0, colon))
                .setPort(Integer.parseInt(node.substring(colon + 1)))
                .setURI("/_internal/status")
                .setIdleTimeout(timeoutMillis)
                .putHeader("Authorization", credentials.clusterAuthorization());
        return client.request(request)
                .compose(r -> r.send().compose(response -> {
                    if (response.statusCode() != 200) {
                        return Future.failedFuture("status " + response.statusCode());
                    }
                    return response.body().map(body -> body.toJsonObject());
                }));
    }

    private void tick() {
        ClusterMap map = cluster.current();
        Set<String> nodes = new LinkedHashSet<>();
        for (Shard shard : map.shards().values()) {
            nodes.add(shard.primary());
            nodes.addAll(shard.replicas());
        }
        detector.watch(nodes);
        health.keySet().retainAll(nodes);
        statuses.keySet().retainAll(nodes);
        List<Transition> transitions = new ArrayList<>();
        for (Probe probe : detector.tick(System.nanoTime(), transitions)) {
            fetchStatus(probe.node()).onComplete(result -> {
                List<Transition> answered = new ArrayList<>();
                if (result.succeeded()) {
                    statuses.put(probe.node(), result.result());
                    detector.succeeded(probe.node(), probe.sequence(), answered);
                } else {
                    LOG.debugf("probe %d of %s failed: %s", probe.sequence(), probe.node(), result.cause());
                    detector.failed(probe.node(), probe.sequence(), answered);
                }
                publish(answered);
            });
        }
        publish(transitions);
    }

    private void publish(List<Transition> transitions) {
        for (Transition t : transitions) {
            health.put(t.node(), t.to());
            if (t.to() == Health.DOWN) {
                LOG.warnf("node %s is DOWN (%d probes failed in a row)", t.node(), config.failureThreshold());
            } else if (t.to() == Health.UP && t.from() == Health.DOWN) {
                LOG.infof("node %s is UP again", t.node());
            }
            for (Consumer<Transition> listener : listeners) {
                listener.accept(t);
            }
        }
    }
}
