package dev.qache.edge;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import java.time.Duration;
import java.util.Set;

/**
 * Latency histograms for Prometheus: the named timers publish {@code _bucket} series (Micrometer's
 * percentile histogram between 100 µs and 2 s, plus the service-level buckets below), so a p50 or
 * p99 over any window and any set of instances is a {@code histogram_quantile} away. Without them
 * {@code /q/metrics} had only counts, sums and maxima.
 */
public final class LatencyHistograms {

    /** Buckets every dashboard and alert can rely on, whatever Micrometer's own spacing. */
    static final Duration[] SERVICE_LEVELS = {
        Duration.ofNanos(500_000),
        Duration.ofMillis(1),
        Duration.ofMillis(2),
        Duration.ofMillis(5),
        Duration.ofMillis(10),
        Duration.ofMillis(50),
        Duration.ofMillis(250),
        Duration.ofSeconds(1)
    };

    private LatencyHistograms() {}

    /** A filter giving the timers named {@code names} (Micrometer's dotted names) their histograms. */
    public static MeterFilter forTimers(Set<String> names) {
        return new MeterFilter() {
            @Override
            public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
                if (id.getType() != Meter.Type.TIMER || !names.contains(id.getName())) {
                    return config;
                }
                double[] slos = new double[SERVICE_LEVELS.length];
                for (int i = 0; i < slos.length; i++) {
                    slos[i] = SERVICE_LEVELS[i].toNanos();
                }
                return DistributionStatisticConfig.builder()
                        .percentilesHistogram(true)
                        .serviceLevelObjectives(slos)
                        .minimumExpectedValue((double) Duration.ofNanos(100_000).toNanos())
                        .maximumExpectedValue((double) Duration.ofSeconds(2).toNanos())
                        .build()
                        .merge(config);
            }
        };
    }
}
