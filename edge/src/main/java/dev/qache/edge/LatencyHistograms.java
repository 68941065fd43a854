package dev.qache.edge;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import java.util.Set;

/**
 * Latency histograms for Prometheus: the named timers publish {@code _bucket} series (Micrometer's
 * percentile histogram between 100 µs and 2 s, plus the service-level buckets below), so a p50 or
 * p99 over any window and any set of instances is a {@code histogram_quantile} away. Without them
 * {@code /q/metrics} had only counts, sums and maxima.
 */
public final class LatencyHistograms {

    /**
     * Buckets every dashboard and alert can rely on, whatever Micrometer's own spacing: 0.5, 1, 2,
     * 5, 10, 50 and 250 ms and 1 s, in nanoseconds (a timer's base unit here).
     */
    private static final double[] SERVICE_LEVELS_NANOS = {500e3, 1e6, 2e6, 5e6, 10e6, 50e6, 250e6, 1e9};

    private LatencyHistograms() {}

    /** A filter giving the timers named {@code names} (Micrometer's dotted names) their histograms. */
    public static MeterFilter forTimers(Set<String> names) {
        return new MeterFilter() {
            @Override
            public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
                if (id.getType() != Meter.Type.TIMER || !names.contains(id.getName())) {
                    return config;
                }
                return DistributionStatisticConfig.builder()
                        .percentilesHistogram(true)
                        .serviceLevelObjectives(SERVICE_LEVELS_NANOS)
                        .minimumExpectedValue(100e3)
                        .maximumExpectedValue(2e9)
                        .build()
                        .merge(config);
            }
        };
    }
}
