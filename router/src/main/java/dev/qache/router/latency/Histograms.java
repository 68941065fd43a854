package dev.qache.router.latency;

import dev.qache.edge.LatencyHistograms;
import io.micrometer.core.instrument.config.MeterFilter;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.Set;

/**
 * Latency histograms on the router's HTTP server timer and on its forward timer, per shard and
 * outcome (see {@link LatencyHistograms}).
 */
public class Histograms {

    @Produces
    @Singleton
    MeterFilter latencyHistograms() {
        return LatencyHistograms.forTimers(Set.of("http.server.requests", "qache.router.forward"));
    }
}
