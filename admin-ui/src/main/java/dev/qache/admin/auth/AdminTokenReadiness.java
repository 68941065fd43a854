package dev.qache.admin.auth;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Readiness data on the admin token file: how often it was reloaded, how often a read failed.
 * A token rotation step waits until every process has reloaded; this is where the console says so.
 * It never shows a token.
 */
@Readiness
@ApplicationScoped
public class AdminTokenReadiness implements HealthCheck {

    private final AdminToken token;

    AdminTokenReadiness(AdminToken token) {
        this.token = token;
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("admin-token")
                .up()
                .withData("reloads", token.reloads())
                .withData("reloadFailures", token.reloadFailures())
                .build();
    }
}
