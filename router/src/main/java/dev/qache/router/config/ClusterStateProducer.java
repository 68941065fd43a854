package dev.qache.router.config;

import dev.qache.edge.ClusterTls;
import dev.qache.router.cluster.ClusterMap;
import dev.qache.router.cluster.ClusterMapFile;
import dev.qache.router.cluster.ClusterState;
import dev.qache.router.cluster.NodeMaps;
import dev.qache.router.cluster.Shard;
import dev.qache.router.security.Credentials;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
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
 * Recovers the cluster map from its file at start-up; without a file, adopts the newest map the
 * nodes of {@code qache.router.shards} hold (a router that lost its disk), else bootstraps one
 * from {@code qache.router.shards}.
 */
@Singleton
public class ClusterStateProducer {

    private static final Logger LOG = Logger.getLogger(ClusterStateProducer.class);

    @Produces
    @Singleton
    ClusterState clusterState(RouterConfig config, Vertx vertx, ClusterTls tls, Credentials credentials)
            throws IOException {
        ClusterMapFile file = new ClusterMapFile(Path.of(config.mapFile()));
        ClusterMap map = file.load().orElse(null);
        if (map != null) {
            LOG.infof(
                    "recovered cluster map epoch %d with shards %s from %s",
                    map.epoch(), map.shards().keySet(), file.path());
            return new ClusterState(map, file);
        }
        List<Shard> configured = config.shards().orElse(List.of()).stream()
                .map(ClusterStateProducer::parse)
                .toList();
        map = ClusterMap.bootstrap(configured);
        // No file: this router is new, or lost its disk. The nodes it is configured with may hold
        // a newer map (promotions, migrations since the cluster began): the newest wins.
        Optional<NodeMaps.Held> held = newestOnTheNodes(configured, vertx, tls, credentials);
        if (held.isPresent() && held.get().map().epoch() > map.epoch()) {
            ClusterMap adopted = held.get().map();
            LOG.warnf(
                    "no map file at %s: adopted the cluster map of epoch %d that node %s holds, shards %s"
                            + " (the configured shards would have been epoch %d)",
                    file.path(),
                    adopted.epoch(),
                    held.get().node(),
                    adopted.shards().keySet(),
                    map.epoch());
            return new ClusterState(adopted, file);
        }
        LOG.infof(
                "bootstrapped cluster map epoch %d with shards %s into %s",
                map.epoch(), map.shards().keySet(), file.path());
        return new ClusterState(map, file);
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
