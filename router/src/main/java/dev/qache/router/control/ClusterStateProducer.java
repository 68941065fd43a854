package dev.qache.router.control;

import dev.qache.edge.ClusterTls;
import dev.qache.router.cluster.ClusterMap;
import dev.qache.router.cluster.ClusterMapFile;
import dev.qache.router.cluster.ClusterState;
import dev.qache.router.cluster.NodeMaps;
import dev.qache.router.cluster.Shard;
import dev.qache.router.config.RouterConfig;
import dev.qache.router.security.Credentials;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * Starts this router's member of the routers' Raft group and the cluster state it serves from. The
 * group's log holds the map; a group with none yet (a new cluster, a router upgraded from the map
 * file, or a lone router that lost its disk) is seeded with the newest of the map file, the maps
 * the nodes of {@code qache.router.shards} hold, and a map bootstrapped from those shards.
 */
@Singleton
public class ClusterStateProducer {

    private static final Logger LOG = Logger.getLogger(ClusterStateProducer.class);

    @Produces
    @Singleton
    ControlPlane controlPlane(RouterConfig config) {
        // Started with the cluster state, which needs its first map.
        return started(config).plane();
    }

    void close(@Disposes ControlPlane plane) throws IOException {
        plane.close();
    }

    private ControlPlane.Started started;
    private Vertx vertx;
    private ClusterTls tls;
    private Credentials credentials;

    ClusterStateProducer(Vertx vertx, ClusterTls tls, Credentials credentials) {
        this.vertx = vertx;
        this.tls = tls;
        this.credentials = credentials;
    }

    private synchronized ControlPlane.Started started(RouterConfig config) {
        if (started == null) {
            try {
                started = ControlPlane.start(
                        settings(config),
                        config.raft().startTimeout(),
                        config.raft().commitTimeout(),
                        () -> seed(config));
            } catch (IOException e) {
                throw new IllegalStateException("the router's member of the routers' group did not start", e);
            }
        }
        return started;
    }

    static RouterGroup.Settings settings(RouterConfig config) {
        List<RouterGroup.Peer> peers = config.peers()
                .map(list -> list.stream().map(RouterGroup.Peer::parse).toList())
                .orElse(List.of(new RouterGroup.Peer(config.id(), "127.0.0.1", config.raftPort())));
        return new RouterGroup.Settings(
                peers,
                config.id(),
                Path.of(config.dataDir()),
                config.raft().electionTimeoutMin(),
                config.raft().electionTimeoutMax(),
                config.raft().snapshotEvery());
    }

    @Produces
    @Singleton
    ClusterState clusterState(RouterConfig config, ControlPlane plane) {
        ControlPlane.Started start = started(config);
        ClusterState state = new ClusterState(start.map(), plane, new ClusterMapFile(Path.of(config.mapFile())));
        plane.serve(state);
        return state;
    }

    /** The newest of the map file, the configured nodes' maps, and a map of the configured shards. */
    private ClusterMap seed(RouterConfig config) {
        ClusterMapFile file = new ClusterMapFile(Path.of(config.mapFile()));
        List<Shard> configured = config.shards().orElse(List.of()).stream()
                .map(ClusterStateProducer::parse)
                .toList();
        ClusterMap newest = ClusterMap.bootstrap(configured);
        String from = "the configured shards";
        try {
            Optional<ClusterMap> saved = file.load();
            if (saved.isPresent() && saved.get().epoch() > newest.epoch()) {
                newest = saved.get();
                from = "the map file " + file.path();
            }
        } catch (IOException e) {
            LOG.warnf("the map file %s cannot be read (%s): it seeds nothing", file.path(), e.getMessage());
        }
        Optional<NodeMaps.Held> held = newestOnTheNodes(configured, vertx, tls, credentials);
        if (held.isPresent() && held.get().map().epoch() > newest.epoch()) {
            newest = held.get().map();
            from = "node " + held.get().node();
        }
        LOG.infof(
                "seed map: epoch %d with shards %s, from %s",
                newest.epoch(), newest.shards().keySet(), from);
        return newest;
    }

    private static Optional<NodeMaps.Held> newestOnTheNodes(
            List<Shard> configured, Vertx vertx, ClusterTls tls, Credentials credentials) {
        Set<String> nodes = new LinkedHashSet<>();
        for (Shard shard : configured) {
            nodes.add(shard.primary());
            nodes.addAll(shard.replicas());
        }
        if (nodes.isEmpty()) {
            return Optional.empty();
        }
        HttpClient client = vertx.createHttpClient(tls.apply(new HttpClientOptions().setConnectTimeout(1_000)));
        try {
            return NodeMaps.newest(client, nodes, credentials.clusterAuthorization(), Duration.ofSeconds(3));
        } finally {
            client.close();
        }
    }

    /** {@code id=primary[;replica...]}. */
    static Shard parse(String spec) {
        int eq = spec.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException(
                    "qache.router.shards entry must be id=host:port[;host:port...]: " + spec);
        }
        List<String> nodes = Arrays.stream(spec.substring(eq + 1).split(";"))
                .map(String::trim)
                .filter(s -> !s.isEmpty())
                .toList();
        if (nodes.isEmpty()) {
            throw new IllegalArgumentException("shard " + spec.substring(0, eq) + " has no primary");
        }
        return new Shard(spec.substring(0, eq).trim(), nodes.getFirst(), nodes.subList(1, nodes.size()));
    }
}
