package dev.qache.node.health;

import jakarta.inject.Singleton;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;

/**
 * Alive when the HTTP server can answer at all: the answer itself is the proof, so the check has
 * nothing to test. A frozen or deadlocked process fails it by timing out, which is what an
 * orchestrator's liveness probe needs.
 */
@Liveness
@Singleton
public class EventLoopLivenessCheck implements HealthCheck {

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("http").up().build();
    }
}
