package dev.qache.node.health;

import dev.qache.node.replication.Replication;
import dev.qache.protocol.NodeStatus;
import io.smallrye.health.api.HealthGroup;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;

/**
 * {@code GET /q/health/group/replication}: down while this node is a replica that is not streaming
 * a complete copy from its primary (connecting, or in a full sync), so an operator or a rolling
 * upgrade can wait for it; up on a primary and on a node out of the map. Says the role, the link's
 * state and the offset.
 */
/*
 * A group of its own, not readiness: ECS replaces a task whose health check fails and the deployments
 * check /q/health/ready, so a replica in a long full sync would be killed and start it again, for
 * ever. Readiness carries the same role and link as data (StoreHealthCheck) and stays up.
 */
@HealthGroup("replication")
@Singleton
public class ReplicationHealthCheck implements HealthCheck {

    private final Replication replication;

    ReplicationHealthCheck(Replication replication) {
        this.replication = replication;
    }

    @Override
    public HealthCheckResponse call() {
        NodeStatus status = replication.status(System.nanoTime());
        boolean replica = "replica".equals(status.role());
        boolean inSync = !replica || (status.synced() && "streaming".equals(status.link()));
        return HealthCheckResponse.named("replication")
                .status(inSync)
                .withData("role", status.role())
                .withData("link", status.link() == null ? "none" : status.link())
                .withData("offset", status.offset())
                .build();
    }
}
