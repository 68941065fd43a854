package dev.qache.node.replication;

import dev.qache.edge.ClusterTls;
import dev.qache.node.cluster.SlotOwnership;
import dev.qache.node.config.NodeConfig;
import dev.qache.node.security.Credentials;
import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jboss.logging.Logger;

/**
 * A primary told to stop (SIGTERM) hands its shard over before it exits: it asks a router
 * ({@code qache.node.shutdown.routers}) for its step-down, which promotes its best replica
 * gracefully (writes pause until that replica has caught up, so none is lost), and waits until
 * the map that demotes it arrives, at most {@code qache.node.shutdown.hand-off-timeout}. Meanwhile
 * it serves as before: the writes the pause held go to the new primary once the router has its
 * map. A replica, or a node out of the map, just leaves.
 */
/*
 * Why here: Quarkus fires ShutdownDelayInitiatedEvent (with quarkus.shutdown.delay-enabled) before
 * it stops anything, synchronously on the thread that shuts the application down, so the HTTP
 * server, the replication sessions and Vert.x still run while this waits. Not bounded by
 * quarkus.shutdown.timeout: setting that installs a filter that adds Connection: close to every
 * answer from the first signal on, which would cut the router's pipelined connections to this node
 * in the middle of the hand-off (ARCHITECTURE.md, decision 21).
 */
@Singleton
class ShutdownHandOff {

    private static final Logger LOG = Logger.getLogger(ShutdownHandOff.class);

    private final Replication replication;
    private final SlotOwnership ownership;
    private final NodeConfig.Shutdown config;
    private final Credentials credentials;
    private final ClusterTls tls;
    private final Vertx vertx;

    ShutdownHandOff(
            Replication replication,
            SlotOwnership ownership,
            NodeConfig config,
            Credentials credentials,
            ClusterTls tls,
            Vertx vertx) {
        this.replication = replication;
        this.ownership = ownership;
        this.config = config.shutdown();
        this.credentials = credentials;
        this.tls = tls;
        this.vertx = vertx;
    }

    void onShutdown(@Observes ShutdownDelayInitiatedEvent event) {
        String self = ownership.self();
        if (self == null || !replication.primary()) {
            return;
        }
        List<String> routers = config.routers().orElse(List.of());
        if (routers.isEmpty()) {
            LOG.warnf(
                    "this node (%s) is a primary and stops without handing its shard over:"
                            + " qache.node.shutdown.routers is not set",
                    self);
            return;
        }
        long startNanos = System.nanoTime();
        long deadline = startNanos + config.handOffTimeout().toNanos();
        HttpClient client = vertx.createHttpClient(tls.apply(new HttpClientOptions()));
        try {
            if (!askForStepDown(client, self, routers, deadline)) {
                return;
            }
            if (replication.awaitNotPrimary(deadline)) {
                LOG.infof(
                        "this node (%s) handed its shard over in %d ms; it stops now",
                        self, (System.nanoTime() - startNanos) / 1_000_000);
            } else {
                LOG.warnf(
                        "this node (%s) is still a primary after %d ms (qache.node.shutdown.hand-off-timeout);"
                                + " it stops anyway",
                        self, config.handOffTimeout().toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            client.close();
        }
    }

    /** Asks each router in turn until one carries the step-down out or says there is none to do. */
    private boolean askForStepDown(HttpClient client, String self, List<String> routers, long deadline)
            throws InterruptedException {
        for (String router : routers) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            String url = router.replaceAll("/+$", "") + "/admin/nodes/" + self + "/step-down";
            try {
                int[] status = {0};
                String body = client.request(new RequestOptions()
                                .setMethod(HttpMethod.POST)
                                .setAbsoluteURI(url)
                                .setTimeout(TimeUnit.NANOSECONDS.toMillis(left))
                                .putHeader("Authorization", credentials.clusterAuthorization()))
                        .compose(request -> request.send())
                        .compose(response -> {
                            status[0] = response.statusCode();
                            return response.body();
                        })
                        .map(Object::toString)
                        .toCompletionStage()
                        .toCompletableFuture()
                        .get(left, TimeUnit.NANOSECONDS);
                if (status[0] == 200) {
                    LOG.infof("this node (%s) stops: %s handed its shard to a replica", self, router);
                    return true;
                }
                if (status[0] == 409) {
                    // Not a primary in the router's map, or no replica to take over: nothing to wait for.
                    LOG.warnf("this node (%s) stops without a hand-off: %s answered %s", self, router, body);
                    return false;
                }
                LOG.warnf("step-down of %s: %s answered %d %s", self, router, status[0], body);
            } catch (ExecutionException | TimeoutException e) {
                LOG.warnf("step-down of %s: %s did not answer: %s", self, router, e.getMessage());
            }
        }
        LOG.warnf("this node (%s) stops without a hand-off: no router carried its step-down out", self);
        return false;
    }
}
