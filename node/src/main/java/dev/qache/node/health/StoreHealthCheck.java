package dev.qache.node.health;

import dev.qache.node.replication.Replication;
import dev.qache.node.store.Store;
import dev.qache.node.store.StoreStats;
import dev.qache.protocol.NodeStatus;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready once the store exists and answers; reports its size so an operator sees at a glance how
 * full the node is, and its role and replication link (a replica in a full sync is still ready:
 * {@link ReplicationHealthCheck} is the group that waits for the sync). A full store is still
 * ready: eviction is normal operation, not a fault.
 */
@Readiness
@Singleton
public class StoreHealthCheck implements HealthCheck {

    private final Store store;
    private final Replication replication;

    StoreHealthCheck(Store store, Replication replication) {
        this.store = store;
        this.replication = replication;
    }

    @Override
    public HealthCheckResponse call() {
        StoreStats stats = store.stats();
        NodeStatus status = replication.status(System.nanoTime());
        return HealthCheckResponse.named("store")
                .up()
                .withData("keys", stats.keys())
                .withData("memoryUsedBytes", stats.usedBytes())
                .withData("memoryLimitBytes", stats.limitBytes())
                .withData("role", status.role())
                .withData("link", status.link() == null ? "none" : status.link())
                .build();
    }
}
