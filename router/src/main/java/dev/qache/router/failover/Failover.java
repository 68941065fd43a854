package dev.qache.router.failover;

import dev.qache.router.cluster.ClusterMap;
import dev.qache.router.cluster.ClusterState;
import dev.qache.router.cluster.MapPusher;
import dev.qache.router.cluster.Shard;
import dev.qache.router.config.RouterConfig;
import dev.qache.router.failover.FailureDetector.Health;
import dev.qache.router.proxy.ProxyRoutes;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;
import org.jspecify.annotations.Nullable;

/**
 * Replaces a shard's primary: automatically when the {@link NodeMonitor} finds it DOWN (the
 * replica with the highest replication offset takes over), or on an operator's request.
 *
 * <p>A forced promotion while the primary is alive is graceful, as Redis' manual failover is: the
 * router holds the shard's new writes, waits for those in flight, reads the primary's offset, waits
 * until the replica has applied that much, and only then switches roles, so no acknowledged write
 * is lost. An automatic one cannot wait for a dead primary: what it had not yet streamed is lost,
 * the asynchronous replication window.
 *
 * <p>Either way the new map (epoch + 1, the old primary kept as a replica so that it rejoins as one
 * when it returns) is saved, handed to the promoted node first, then published to the proxy and
 * pushed to every node. Promotions run one at a time on their own thread, never on an event loop.
 */
@Singleton
public class Failover {

    private static final Logger LOG = Logger.getLogger(Failover.class);

    private final ClusterState cluster;
    private final NodeMonitor monitor;
    private final MapPusher pusher;
    private final ProxyRoutes proxy;
    private final RouterConfig.Failover config;
    private final Counter automaticPromotions;
    private final Counter forcedPromotions;
    private final java.util.Map<String, Promotion> lastPromotion = new java.util.concurrent.ConcurrentHashMap<>();
    private final ExecutorService worker = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("qache-failover").factory());

    Failover(
            ClusterState cluster,
            NodeMonitor monitor,
            MapPusher pusher,
            ProxyRoutes proxy,
            RouterConfig config,
            MeterRegistry registry) {
        this.cluster = cluster;
        this.monitor = monitor;
        this.pusher = pusher;
        this.proxy = proxy;
        this.config = config.failover();
        this.automaticPromotions = Counter.builder("qache.router.promotions")
                .description("Replicas promoted to primary, by reason")
                .tag("reason", "failure")
                .register(registry);
        this.forcedPromotions = Counter.builder("qache.router.promotions")
                .description("Replicas promoted to primary, by reason")
                .tag("reason", "forced")
                .register(registry);
    }

    void start(@Observes StartupEvent started, Vertx vertx) {
        monitor.onTransition(transition -> {
            if (transition.to() == Health.DOWN && config.automatic()) {
                submit(() -> primaryDown(transition.node()));
            }
        });
        // Again every second for every primary still DOWN: a failover deferred (startup grace)
        // or refused (no replica answered) is retried.
        vertx.setPeriodic(1000, id -> {
            if (config.automatic()) {
                for (Shard shard : cluster.current().shards().values()) {
                    if (monitor.health(shard.primary()) == Health.DOWN) {
                        submit(() -> primaryDown(shard.primary()));
                    }
                }
            }
        });
    }

    private void submit(Runnable task) {
        try {
            worker.execute(task);
        } catch (RejectedExecutionException shuttingDown) {
            // The router is stopping: no failover now.
        }
    }

    @PreDestroy
    void stop() {
        worker.shutdownNow();
    }

    /** Why a promotion was refused, with the HTTP status the admin API answers. */
    public static final class PromotionException extends Exception {
        private final int status;

        PromotionException(int status, String message) {
            super(message);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }

    /** Primaries whose loss was reported as leaving their shard unavailable; failover thread only. */
    private final java.util.Set<String> unavailable = new java.util.HashSet<>();

    private void primaryDown(String node) {
        unavailable.retainAll(cluster.current().shards().values().stream()
                .map(Shard::primary)
                .filter(p -> monitor.health(p) == Health.DOWN)
                .toList());
        if (!monitor.answeredSinceStart(node) && monitor.uptime().compareTo(config.startupGrace()) < 0) {
            // Just started: every node, and this router, may be slow (cold JVMs, a busy host).
            // A node not heard from yet gets the grace period before it is failed over.
            return;
        }
        for (Shard shard : cluster.current().shards().values()) {
            if (shard.primary().equals(node) && monitor.health(node) == Health.DOWN) {
                try {
                    promote(shard.id(), null, false);
                } catch (PromotionException e) {
                    // Retried every second: said once per outage, not every second.
                    if (unavailable.add(node)) {
                        LOG.errorf(
                                "shard %s has lost its primary %s and stays unavailable: %s",
                                shard.id(), node, e.getMessage());
                    }
                } catch (RuntimeException e) {
                    LOG.errorf(e, "failover of shard %s failed", shard.id());
                }
            }
        }
    }

    /** Forces a promotion (admin API); blocks, so never call it on an event loop. */
    public ClusterMap force(String shardId, @Nullable String replica) throws PromotionException {
        try {
            return worker.submit(() -> promote(shardId, replica, true)).get();
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof PromotionException refused) {
                throw refused;
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PromotionException(503, "interrupted");
        }
    }

    private ClusterMap promote(String shardId, @Nullable String named, boolean forced) throws PromotionException {
        ClusterMap map = cluster.current();
        Shard shard = map.shards().get(shardId);
        if (shard == null) {
            throw new PromotionException(404, "no shard " + shardId);
        }
        if (named != null && !shard.replicas().contains(named)) {
            throw new PromotionException(409, named + " is not a replica of shard " + shardId);
        }
        if (shard.replicas().isEmpty()) {
            throw new PromotionException(409, "shard " + shardId + " has no replica to promote");
        }
        boolean primaryDown = monitor.health(shard.primary()) == Health.DOWN;
        if (!forced && !primaryDown) {
            return map;
        }
        if (primaryDown && !forced && fetch(shard.primary()) != null) {
            // The detector's evidence is a few probes; before acting on it, one more chance with
            // a longer wait. A killed node refuses at once; a slow one (a loaded machine, a
            // pause) answers, and no failover happens.
            LOG.infof("the primary %s of shard %s answered a confirming probe: no failover", shard.primary(), shardId);
            return map;
        }
        if (primaryDown) {
            String chosen = named != null ? named : best(shard);
            if (chosen == null) {
                throw new PromotionException(409, "no replica of shard " + shardId + " answers");
            }
            if (!forced && monitor.health(shard.primary()) != Health.DOWN) {
                LOG.infof("the primary %s of shard %s answered again: no failover", shard.primary(), shardId);
                return map;
            }
            return switchRoles(shard, chosen, forced ? "forced, primary down" : "primary down");
        }
        return graceful(shard, named != null ? named : best(shard));
    }

    /** The answering replica with the highest replication offset, asked now. */
    private @Nullable String best(Shard shard) {
        String best = null;
        long bestOffset = -1;
        for (String replica : shard.replicas()) {
            JsonObject status = fetch(replica);
            if (status != null && "replica".equals(status.getString("role"))) {
                long offset = status.getLong("offset", -1L);
                if (offset > bestOffset) {
                    best = replica;
                    bestOffset = offset;
                }
            }
        }
        return best;
    }

    private @Nullable JsonObject fetch(String node) {
        try {
            return monitor.fetchStatus(node)
                    .toCompletionStage()
                    .toCompletableFuture()
                    .get(Math.max(100, config.probeTimeout().toMillis() * 2), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (Exception e) {
            return null;
        }
    }

    private ClusterMap graceful(Shard shard, @Nullable String replica) throws PromotionException {
        if (replica == null) {
            throw new PromotionException(409, "no replica of shard " + shard.id() + " answers");
        }
        long deadline = System.nanoTime() + config.catchUpTimeout().toNanos();
        ProxyRoutes.WriteGate gate = proxy.pauseWrites(shard.id());
        try {
            try {
                gate.idle().get(config.catchUpTimeout().toMillis(), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
                throw new PromotionException(503, "writes to shard " + shard.id() + " did not finish");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PromotionException(503, "interrupted");
            }
            JsonObject primary = fetch(shard.primary());
            if (primary == null) {
                throw new PromotionException(503, "the primary " + shard.primary() + " did not answer");
            }
            long target = primary.getLong("offset");
            String history = primary.getString("replicationId");
            while (true) {
                JsonObject status = fetch(replica);
                if (status != null
                        && history.equals(status.getString("replicationId"))
                        && status.getLong("offset", -1L) >= target) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    throw new PromotionException(
                            503,
                            "replica " + replica + " did not catch up with the primary's offset " + target + " within "
                                    + config.catchUpTimeout() + "; nothing changed");
                }
                sleepMillis(5);
            }
            return switchRoles(shard, replica, "forced, caught up to offset " + target);
        } finally {
            gate.resume();
        }
    }

    private ClusterMap switchRoles(Shard shard, String chosen, String reason) {
        List<String> replicas = new ArrayList<>(shard.replicas());
        replicas.remove(chosen);
        replicas.add(shard.primary());
        Shard promoted = new Shard(shard.id(), chosen, replicas);
        try {
            ClusterMap next = cluster.update(map -> map.withShardMembers(promoted), map -> handTo(chosen, map));
            (reason.startsWith("forced") ? forcedPromotions : automaticPromotions).increment();
            lastPromotion.put(
                    shard.id(),
                    new Promotion(
                            java.time.Instant.now()
                                    .truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                                    .toString(),
                            shard.primary(),
                            chosen,
                            next.epoch(),
                            reason));
            LOG.warnf(
                    "PROMOTION: shard %s: %s replaces %s as primary at epoch %d (%s); %s rejoins as a replica",
                    shard.id(), chosen, shard.primary(), next.epoch(), reason, shard.primary());
            return next;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A promotion as the admin API shows it: when (ISO-8601), the deposed and the new primary, the
     * epoch it made, and why (a detected failure, or forced).
     */
    public record Promotion(String at, String from, String to, long epoch, String reason) {}

    /** The last promotion of {@code shardId} since this router started, or null. */
    public @Nullable Promotion lastPromotion(String shardId) {
        return lastPromotion.get(shardId);
    }

    /** Gives the promoted node its new map before any write is routed to it; bounded. */
    private void handTo(String node, ClusterMap map) {
        try {
            Integer status = pusher.pushTo(node, map)
                    .toCompletionStage()
                    .toCompletableFuture()
                    .get(1, TimeUnit.SECONDS);
            if (status != 204) {
                LOG.warnf("the promoted node %s refused the map of epoch %d with %d", node, map.epoch(), status);
            }
        } catch (Exception e) {
            LOG.warnf(
                    "the promoted node %s did not take the map of epoch %d now (%s); the periodic push retries",
                    node, map.epoch(), e.toString());
        }
    }

    private static void sleepMillis(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
