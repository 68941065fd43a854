package dev.qache.router.config;

import dev.qache.router.cluster.ClusterMap;
import dev.qache.router.cluster.ClusterMapFile;
import dev.qache.router.cluster.ClusterState;
import dev.qache.router.cluster.Shard;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Recovers the cluster map from its file at start-up, or bootstraps one from
 * {@code qache.router.shards} when there is no file yet.
 */
@Singleton
public class ClusterStateProducer {

    private static final Logger LOG = Logger.getLogger(ClusterStateProducer.class);

    @Produces
    @Singleton
    ClusterState clusterState(RouterConfig config) throws IOException {
        ClusterMapFile file = new ClusterMapFile(Path.of(config.mapFile()));
        ClusterMap map = file.load().orElse(null);
        if (map != null) {
            LOG.infof(
                    "recovered cluster map epoch %d with shards %s from %s",
                    map.epoch(), map.shards().keySet(), file.path());
        } else {
            map = ClusterMap.bootstrap(config.shards().orElse(List.of()).stream()
                    .map(ClusterStateProducer::parse)
                    .toList());
            LOG.infof(
                    "bootstrapped cluster map epoch %d with shards %s into %s",
                    map.epoch(), map.shards().keySet(), file.path());
        }
        return new ClusterState(map, file);
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
