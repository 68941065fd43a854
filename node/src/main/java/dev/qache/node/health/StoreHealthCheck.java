package dev.qache.node.health;

import dev.qache.node.store.Store;
import dev.qache.node.store.StoreStats;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready once the store exists and answers; reports its size so an operator sees at a glance how
 * full the node is. A full store is still ready: eviction is normal operation, not a fault.
 */
@Readiness
@Singleton
public class StoreHealthCheck implements HealthCheck {

    private final Store store;

    StoreHealthCheck(Store store) {
        this.store = store;
    }

    @Override
    public HealthCheckResponse call() {
        StoreStats stats = store.stats();
        return HealthCheckResponse.named("store")
                .up()
                .withData("keys", stats.keys())
                .withData("memoryUsedBytes", stats.usedBytes())
                .withData("memoryLimitBytes", stats.limitBytes())
                .build();
    }
}
