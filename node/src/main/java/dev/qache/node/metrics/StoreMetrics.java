package dev.qache.node.metrics;

import dev.qache.node.store.Store;
import dev.qache.node.store.StoreStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import jakarta.inject.Singleton;
import java.util.function.ToDoubleFunction;

/**
 * Publishes the store's counters under the names in DESIGN.md ({@code qache_keys},
 * {@code qache_memory_used_bytes}, {@code qache_hits_total}, ...). They are read from the store at
 * scrape time, so the hot path pays only the store's own counter increments.
 */
@Singleton
public class StoreMetrics implements MeterBinder {

    private final Store store;

    StoreMetrics(Store store) {
        this.store = store;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        gauge(registry, "qache.keys", null, "Live entries in the store", StoreStats::keys);
        gauge(registry, "qache.memory.used", "bytes", "Accounted bytes of the store's entries", StoreStats::usedBytes);
        gauge(registry, "qache.memory.limit", "bytes", "The store's memory limit", StoreStats::limitBytes);
        counter(registry, "qache.hits", "Reads that found a live value", StoreStats::hits);
        counter(registry, "qache.misses", "Reads that found no live value", StoreStats::misses);
        counter(
                registry,
                "qache.evictions",
                "Entries evicted to make room (least recently used)",
                StoreStats::evictions);
        counter(registry, "qache.expirations", "Entries removed because their TTL passed", StoreStats::expirations);
    }

    private void gauge(MeterRegistry registry, String name, String unit, String help, ToDoubleFunction<StoreStats> f) {
        Gauge.builder(name, store, s -> f.applyAsDouble(s.stats()))
                .baseUnit(unit)
                .description(help)
                .strongReference(true)
                .register(registry);
    }

    private void counter(MeterRegistry registry, String name, String help, ToDoubleFunction<StoreStats> f) {
        FunctionCounter.builder(name, store, s -> f.applyAsDouble(s.stats()))
                .description(help)
                .register(registry);
    }
}
