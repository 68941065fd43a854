package dev.qache.node.replication;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Replication's counters and its lag histogram: {@code qache_replication_syncs_total} by side
 * (served by a primary, received by a replica) and mode (full, partial), and {@code
 * qache_replication_lag_seconds}, the time from a record's append on the primary until a replica
 * acknowledged it (an upper bound on how stale that replica was).
 */
public final class ReplicationMetrics {

    private final Counter fullServed;
    private final Counter partialServed;
    private final Counter fullReceived;
    private final Counter partialReceived;
    private final Timer lag;

    public ReplicationMetrics(MeterRegistry registry) {
        this.fullServed = syncs(registry, "served", "full");
        this.partialServed = syncs(registry, "served", "partial");
        this.fullReceived = syncs(registry, "received", "full");
        this.partialReceived = syncs(registry, "received", "partial");
        this.lag = Timer.builder("qache.replication.lag")
                .description("From a write's append on the primary until a replica acknowledged it")
                .publishPercentiles(0.5, 0.9, 0.99, 0.999)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofNanos(10_000))
                .maximumExpectedValue(Duration.ofSeconds(10))
                // Percentiles over roughly the last 20 s, so that they describe the present load
                // and not the start-up.
                .distributionStatisticExpiry(Duration.ofSeconds(20))
                .distributionStatisticBufferLength(4)
                .register(registry);
    }

    private static Counter syncs(MeterRegistry registry, String side, String mode) {
        return Counter.builder("qache.replication.syncs")
                .description("Replication syncs, by side (served by a primary, received by a replica) and mode")
                .tag("side", side)
                .tag("mode", mode)
                .register(registry);
    }

    void fullSyncServed() {
        fullServed.increment();
    }

    void partialSyncServed() {
        partialServed.increment();
    }

    void fullSyncReceived() {
        fullReceived.increment();
    }

    void partialSyncReceived() {
        partialReceived.increment();
    }

    void lag(long nanos) {
        lag.record(nanos, TimeUnit.NANOSECONDS);
    }

    long fullSyncsReceived() {
        return (long) fullReceived.count();
    }

    long partialSyncsReceived() {
        return (long) partialReceived.count();
    }

    long fullSyncsServed() {
        return (long) fullServed.count();
    }

    long partialSyncsServed() {
        return (long) partialServed.count();
    }

    /** The lag's percentile (0..1) in microseconds, from the timer's histogram. */
    double lagMicros(double percentile) {
        for (var value : lag.takeSnapshot().percentileValues()) {
            if (value.percentile() == percentile) {
                return value.value(TimeUnit.MICROSECONDS);
            }
        }
        return Double.NaN;
    }
}
