package dev.qache.router.health;

import dev.qache.router.cluster.ClusterMap;
import dev.qache.router.cluster.ClusterState;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready when the cluster map has at least one shard, so that a key has somewhere to go. */
@Readiness
@Singleton
public class ClusterMapReadiness implements HealthCheck {

    private final ClusterState cluster;

    ClusterMapReadiness(ClusterState cluster) {
        this.cluster = cluster;
    }

    @Override
    public HealthCheckResponse call() {
        ClusterMap map = cluster.current();
        return HealthCheckResponse.named("cluster-map")
                .status(!map.shards().isEmpty())
                .withData("epoch", map.epoch())
                .withData("shards", map.shards().size())
                .build();
    }
}
