package dev.qache.node.metrics;

import dev.qache.edge.LatencyHistograms;
import io.micrometer.core.instrument.config.MeterFilter;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.Set;

/** Latency histograms on the node's HTTP server timer (see {@link LatencyHistograms}). */
public class Histograms {

    @Produces
    @Singleton
    MeterFilter latencyHistograms() {
        return LatencyHistograms.forTimers(Set.of("http.server.requests"));
    }
}
