package dev.qache.router.failover;

import dev.qache.edge.ClusterTls;
import dev.qache.protocol.Fencing;
import dev.qache.router.cluster.ClusterMap;
import dev.qache.router.cluster.ClusterMapJson;
import dev.qache.router.cluster.ClusterState;
import dev.qache.router.cluster.NodeMaps;
import dev.qache.router.cluster.Shard;
import dev.qache.router.config.ClusterConfig;
import dev.qache.router.security.Credentials;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Pushes the cluster map to every node: at once when it changes, and again every
 * {@code qache.cluster.map-push-interval}, so that a node that was down or restarted (and lost its
 * map) gets it back without anyone noticing. Nodes ignore nothing: a push of the epoch they have
 * is cheap, and an older one is refused by them (409).
 */
@Singleton
public class MapPusher {

    private static final Logger LOG = Logger.getLogger(MapPusher.class);

    private final Vertx vertx;
    private final ClusterState cluster;
    private final ClusterConfig config;
    private final Credentials credentials;
    private final HttpClient client;

    /** Last outcome per node, so that a node that stays down is logged once, not every interval. */
    private final Map<String, String> lastOutcome = new ConcurrentHashMap<>();

    private final NodeMonitor monitor;
    private final java.util.concurrent.atomic.AtomicBoolean adopting = new java.util.concurrent.atomic.AtomicBoolean();
    private final io.micrometer.core.instrument.Counter adoptions;

    MapPusher(
            Vertx vertx,
            ClusterState cluster,
            ClusterConfig config,
            Credentials credentials,
            ClusterTls tls,
            NodeMonitor monitor,
            io.micrometer.core.instrument.MeterRegistry registry) {
        this.monitor = monitor;
        this.adoptions = io.micrometer.core.instrument.Counter.builder("qache.router.map.adoptions")
                .description("Newer cluster maps this router took from a node that refused its own")
                .register(registry);
        this.credentials = credentials;
        this.vertx = vertx;
        this.cluster = cluster;
        this.config = config;
        this.client = vertx.createHttpClient(
                tls.apply(new HttpClientOptions().setConnectTimeout(1_000).setKeepAlive(true)));
    }

    void start(@Observes StartupEvent started) {
        cluster.onChange(map -> vertx.runOnContext(ignored -> push(map)));
        vertx.setPeriodic(0, Math.max(100, config.mapPushInterval().toMillis()), id -> push(cluster.current()));
    }

    /**
     * Pushes {@code map} to one node; the future has the node's status ({@code 204} when it took
     * the map). Failover pushes to the promoted node this way before it reroutes writes to it.
     */
    public Future<Integer> pushTo(String address, ClusterMap map) {
        return send(address, Buffer.buffer(ClusterMapJson.write(map)), null);
    }

    /**
     * Pushes {@code map} to a node this router has just made primary, with a write lease of
     * {@code lease} (from when it issued {@code nonce}) at the map's epoch (any history: the node's own, since the router chose
     * it by what it holds).
     */
    public Future<Integer> pushWithLease(String address, ClusterMap map, String nonce, java.time.Duration lease) {
        return send(
                address,
                Buffer.buffer(ClusterMapJson.write(map)),
                request -> request.putHeader(Fencing.LEASE_NONCE, nonce)
                        .putHeader(Fencing.LEASE_MILLIS, Long.toString(lease.toMillis()))
                        .putHeader(Fencing.LEASE_EPOCH, Long.toString(map.epoch()))
                        .putHeader(Fencing.LEASE_HISTORY, Fencing.ANY_HISTORY));
    }

    /**
     * Pushes {@code map} to every primary and waits (at most {@code timeout}) for their answers:
     * a migration's start and end go through here before the router routes by the new map, so a
     * node never sees a write the map it holds would send elsewhere. Each push carries the write
     * lease a probe would grant the primary, so it takes writes under the new map at once. Blocks:
     * not on an event loop.
     */
    public void pushToPrimariesAndWait(ClusterMap map, java.time.Duration timeout) {
        Buffer body = Buffer.buffer(ClusterMapJson.write(map));
        List<java.util.concurrent.CompletableFuture<Integer>> pushes = new ArrayList<>();
        for (Shard shard : map.shards().values()) {
            String primary = shard.primary();
            pushes.add(monitor.knowStatusOf(primary)
                    .compose(known -> send(primary, body, request -> monitor.grantLease(primary, map.epoch(), request)))
                    .toCompletionStage()
                    .toCompletableFuture());
        }
        try {
            java.util.concurrent.CompletableFuture.allOf(pushes.toArray(java.util.concurrent.CompletableFuture[]::new))
                    .get(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.warnf(
                    "not every primary took the map of epoch %d in time (%s); the periodic push goes on",
                    map.epoch(), e.toString());
        }
    }

    /**
     * A node refused this router's map of epoch {@code refused}: if the map it holds is newer, this
     * router adopts it (saves, then routes and pushes by it). So a router that lost its map file,
     * or was restored from an old one, and bootstrapped from its configuration takes the map the
     * cluster runs on at its first push instead of failing the writes it routes by a stale one.
     * Epochs only grow: a map is adopted only if newer than the router's map at that moment.
     */
    private void adoptNewerFrom(String address, long refused) {
        if (!adopting.compareAndSet(false, true)) {
            return;
        }
        NodeMaps.fetch(client, address, credentials.clusterAuthorization())
                .compose(held -> vertx.executeBlocking(() -> {
                    long before = cluster.current().epoch();
                    if (held.epoch() == before && held.epoch() == refused) {
                        LOG.errorf(
                                "node %s holds another map of epoch %d than this router: two routers, or a"
                                        + " router whose state was lost and rebuilt differently; not adopted",
                                address, before);
                    }
                    // A push of an older map can meet a node that already has the router's newer
                    // one (a migration or promotion hands it over before publishing it): nothing
                    // to take then.
                    if (cluster.adoptIfNewer(held)) {
                        adoptions.increment();
                        LOG.warnf(
                                "adopted the cluster map of epoch %d that node %s holds (this router had epoch %d):"
                                        + " shards %s",
                                held.epoch(), address, before, held.shards().keySet());
                    }
                    return null;
                }))
                .onComplete(done -> {
                    adopting.set(false);
                    if (done.failed()) {
                        LOG.warnf(
                                "reading the cluster map node %s holds: %s",
                                address, done.cause().getMessage());
                    }
                });
    }

    private Future<Integer> send(
            String address,
            Buffer body,
            java.util.function.@org.jspecify.annotations.Nullable Consumer<RequestOptions> extra) {
        int colon = address.lastIndexOf(':');
        RequestOptions request = new RequestOptions()
                .setMethod(HttpMethod.PUT)
                .setHost(address.substring(0, colon))
                .setPort(Integer.parseInt(address.substring(colon + 1)))
                .setURI("/_internal/cluster-map?self=" + address)
                .setIdleTimeout(2_000)
                .putHeader("Authorization", credentials.clusterAuthorization())
                .putHeader("Content-Type", "application/json");
        if (extra != null) {
            extra.accept(request);
        }
        return client.request(request).compose(r -> r.send(body)).map(response -> response.statusCode());
    }

    private void push(ClusterMap map) {
        if (!cluster.leads()) {
            return; // the group's leader alone pushes maps (and grants the leases they carry)
        }
        Buffer body = Buffer.buffer(ClusterMapJson.write(map));
        List<String> members = new ArrayList<>();
        for (Shard shard : map.shards().values()) {
            members.add(shard.primary());
            members.addAll(shard.replicas());
        }
        for (String address : members) {
            send(address, body, null).onComplete(result -> {
                if (result.succeeded() && result.result() == 409) {
                    adoptNewerFrom(address, map.epoch());
                }
                String outcome = result.failed()
                        ? "unreachable (" + result.cause().getMessage() + ")"
                        : switch (result.result()) {
                            case 204 -> "ok";
                            case 409 ->
                                "refused: the node holds a newer map than epoch " + map.epoch()
                                        + ", or another map of that epoch";
                            default -> "refused with " + result.result();
                        };
                String previous = lastOutcome.put(address, outcome);
                if (!outcome.equals(previous)) {
                    if (outcome.equals("ok")) {
                        LOG.infof("node %s has the cluster map (epoch %d)", address, map.epoch());
                    } else {
                        LOG.warnf("pushing the cluster map (epoch %d) to %s: %s", map.epoch(), address, outcome);
                    }
                }
            });
        }
    }
}
