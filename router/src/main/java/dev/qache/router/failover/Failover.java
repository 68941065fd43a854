package dev.qache.router.failover;

import dev.qache.protocol.Fencing;
import dev.qache.protocol.HandedOff;
import dev.qache.protocol.NodeStatus;
import dev.qache.router.cluster.ClusterMap;
import dev.qache.router.cluster.ClusterState;
import dev.qache.router.cluster.Promoted;
import dev.qache.router.cluster.Shard;
import dev.qache.router.config.RouterConfig;
import dev.qache.router.control.ControlPlane;
import dev.qache.router.control.PendingHandoff;
import dev.qache.router.failover.FailureDetector.Health;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Vertx;
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
 * Replaces a shard's primary: automatically when {@link Promotion} says so (the primary is DOWN
 * and an eligible replica exists, once the primary's write lease has run out; or the primary
 * restarted without its data while a replica holds it), or on an operator's request.
 *
 * <p>A forced promotion while the primary is alive is graceful, as Redis' manual failover is: the
 * primary pauses its writes and waits until the replica has applied its final offset, and only then
 * does the router switch roles, so no acknowledged write is lost. An automatic one cannot wait for a dead primary: what it had not yet streamed is lost,
 * the asynchronous replication window. With no eligible replica the shard stays without a primary
 * (writes get 503, and {@link Availability} says why) rather than promote a copy missing data.
 *
 * <p>Either way the new map (epoch + 1, the old primary kept as a replica so that it rejoins as one
 * when it returns) is saved, handed to the promoted node first with a write lease, then published to
 * the proxy and pushed to every node. Promotions run one at a time on their own thread, never on an
 * event loop; decisions are made every probe interval on an event loop (they are pure and quick).
 */
@Singleton
public class Failover {

    private static final Logger LOG = Logger.getLogger(Failover.class);

    /** Added to the write lease before a replacement: scheduling slack, and clocks that drift. */
    private static final long LEASE_MARGIN_NANOS = 50_000_000L;

    private final ClusterState cluster;
    private final ControlPlane plane;
    private final java.time.Duration electionTimeoutMax;
    private final NodeMonitor monitor;
    private final MapPusher pusher;
    private final Availability availability;
    private final RouterConfig.Failover config;
    private final Promotion promotion;
    private final Counter automaticPromotions;
    private final Counter forcedPromotions;

    /** Shards with a review queued on the worker, so the periodic check queues at most one each. */
    private final java.util.Set<String> queued = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private final ExecutorService worker = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("qache-failover").factory());
    private Vertx vertx;

    Failover(
            ClusterState cluster,
            NodeMonitor monitor,
            MapPusher pusher,
            Availability availability,
            ControlPlane plane,
            RouterConfig config,
            MeterRegistry registry) {
        this.plane = plane;
        this.electionTimeoutMax = config.raft().electionTimeoutMax();
        this.cluster = cluster;
        this.monitor = monitor;
        this.pusher = pusher;
        this.availability = availability;
        this.config = config.failover();
        this.promotion = new Promotion(
                this.config.writeLease().toNanos(),
                LEASE_MARGIN_NANOS,
                this.config.maxReplicaLag().asLongValue());
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
        this.vertx = vertx;
        monitor.grantLeasesBy(this::leaseHistory);
        // A new leader of the routers' group counts the leases its predecessor granted as sent
        // until the predecessor surely stopped: a leader that has not heard from a majority for
        // the election timeout's maximum steps down (Ratis checks it periodically: twice that). A
        // group of one has no other router: its own earlier run is covered by counting from start.
        plane.onLeadership(leads -> {
            if (leads && plane.group().peers().size() > 1) {
                monitor.othersGrantUntil(System.nanoTime() + 2 * electionTimeoutMax.toNanos());
            }
            if (leads) {
                submit(this::callOffInheritedHandoffs);
            }
        });
        monitor.onTransition(transition -> {
            if (transition.to() == Health.DOWN && config.automatic() && plane.leads()) {
                for (Shard shard : cluster.current().shards().values()) {
                    if (shard.primary().equals(transition.node())) {
                        queueReview(shard.id());
                    }
                }
            }
        });
        vertx.setPeriodic(Math.max(10, config.probeInterval().toMillis()), id -> check());
    }

    /**
     * The history a grant to {@code node} at {@code epoch} names; null: no lease (see {@link
     * LeaseScope} for which maps must keep it primary).
     */
    private @Nullable String leaseHistory(String node, long epoch) {
        if (!plane.leads()) {
            return null; // only the group's leader grants write leases
        }
        ClusterMap current = cluster.current();
        String shardId = LeaseScope.shardFor(node, epoch, cluster.previous(), current, cluster.pending());
        if (shardId == null) {
            return null;
        }
        Shard shard = current.shards().get(shardId);
        if (shard == null) {
            // A shard being added: its primary holds no map yet (its status names no role), and
            // it has no predecessor whose history it could have lost. A grant still needs a nonce
            // this very process issued, so a node restarted meanwhile takes none.
            return Fencing.ANY_HISTORY;
        }
        return promotion.leaseFor(view(shard), statuses(shard));
    }

    /** Every probe interval, on an event loop: what each shard needs, acted on by the worker. */
    private void check() {
        if (!plane.leads()) {
            return; // the group's leader alone decides promotions
        }
        long now = System.nanoTime();
        boolean starting = monitor.uptime().compareTo(config.startupGrace()) < 0;
        for (Shard shard : cluster.current().shards().values()) {
            if (starting && !monitor.answeredSinceStart(shard.primary())) {
                continue; // just started: its primary gets the grace period (see review)
            }
            var decision = decide(shard, now);
            switch (decision) {
                case Promotion.Blocked blocked -> {
                    if (availability.block(shard.id(), blocked.reason())) {
                        LOG.errorf("shard %s takes no writes: %s", shard.id(), blocked.reason());
                    }
                }
                case Promotion.Keep keep -> {
                    if (availability.clear(shard.id())) {
                        LOG.infof("shard %s takes writes again", shard.id());
                    }
                }
                case Promotion.Wait wait -> {
                    availability.clear(shard.id());
                    long millis = Math.max(1, (wait.untilNanos() - now) / 1_000_000L + 1);
                    vertx.setTimer(millis, ignored -> queueReview(shard.id()));
                }
                case Promotion.Promote promote -> queueReview(shard.id());
            }
        }
    }

    private Promotion.Decision decide(Shard shard, long nowNanos) {
        return promotion.decide(
                view(shard), statuses(shard), healths(shard), monitor.leaseSentNanos(shard.primary()), nowNanos);
    }

    private static Promotion.Shard view(Shard shard) {
        return new Promotion.Shard(shard.id(), shard.primary(), shard.replicas());
    }

    private java.util.Map<String, Promotion.Status> statuses(Shard shard) {
        java.util.Map<String, Promotion.Status> statuses = new java.util.HashMap<>();
        List<String> nodes = new ArrayList<>(shard.replicas());
        nodes.add(shard.primary());
        for (String node : nodes) {
            NodeStatus status = monitor.status(node);
            if (status != null) {
                statuses.put(node, toStatus(status));
            }
        }
        return statuses;
    }

    /** A node's status as {@link Promotion} reads it. */
    static Promotion.Status toStatus(NodeStatus status) {
        return new Promotion.Status(
                status.role(),
                status.epoch(),
                status.synced(),
                status.primary(),
                status.replicationId(),
                status.previousId(),
                status.previousEnd(),
                status.offset());
    }

    private java.util.Map<String, Health> healths(Shard shard) {
        java.util.Map<String, Health> health = new java.util.HashMap<>();
        health.put(shard.primary(), monitor.health(shard.primary()));
        for (String replica : shard.replicas()) {
            health.put(replica, monitor.health(replica));
        }
        return health;
    }

    private void queueReview(String shardId) {
        if (config.automatic() && queued.add(shardId)) {
            submit(() -> {
                queued.remove(shardId);
                review(shardId);
            });
        }
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

    /** On the worker: carries out what {@link Promotion} decides for the shard now. */
    private void review(String shardId) {
        Shard shard = cluster.current().shards().get(shardId);
        if (shard == null || !config.automatic() || !plane.leads()) {
            return;
        }
        String primary = shard.primary();
        if (!monitor.answeredSinceStart(primary) && monitor.uptime().compareTo(config.startupGrace()) < 0) {
            // Just started: every node, and this router, may be slow (cold JVMs, a busy host).
            // A node not heard from yet gets the grace period before it is failed over.
            return;
        }
        if (!(decide(shard, System.nanoTime()) instanceof Promotion.Promote)) {
            return;
        }
        monitor.withhold(primary);
        try {
            // Decided again now that no grant to the primary is on its way: a probe answered
            // between the first decision and the withholding may have renewed its lease.
            if (!(decide(shard, System.nanoTime()) instanceof Promotion.Promote promote)) {
                return;
            }
            if (monitor.health(primary) == Health.DOWN) {
                if (fetch(primary) != null) {
                    // The detector's evidence is a few probes; before acting on it, one more
                    // chance with a longer wait. A killed node refuses at once; a slow one (a
                    // loaded machine, a pause) answers, and no failover happens.
                    LOG.infof("the primary %s of shard %s answered a confirming probe: no failover", primary, shardId);
                    return;
                }
                if (monitor.health(primary) != Health.DOWN) {
                    LOG.infof("the primary %s of shard %s answered again: no failover", primary, shardId);
                    return;
                }
            }
            switchRoles(shard, promote.replica(), promote.reason());
        } catch (RuntimeException e) {
            LOG.errorf(e, "failover of shard %s failed", shardId);
        } finally {
            monitor.release(primary);
        }
    }

    /** Forces a promotion (admin API); blocks, so never call it on an event loop. */
    public ClusterMap force(String shardId, @Nullable String replica) throws PromotionException {
        return onWorker(() -> forced(shardId, replica));
    }

    /**
     * A primary's step-down (admin API; a node told to stop asks for it): a forced promotion of its
     * shard's best replica, refused (409) when {@code primary} is no longer the shard's primary by
     * the time the failover worker runs it (a step-down asked again, of another router, after the
     * first one promoted the replica, must not demote the new primary). Blocks.
     */
    public ClusterMap stepDown(String shardId, String primary) throws PromotionException {
        return onWorker(() -> {
            Shard shard = cluster.current().shards().get(shardId);
            if (shard == null || !shard.primary().equals(primary)) {
                throw new PromotionException(409, primary + " is no longer the primary of shard " + shardId);
            }
            return forced(shardId, null);
        });
    }

    private ClusterMap onWorker(java.util.concurrent.Callable<ClusterMap> promotion) throws PromotionException {
        try {
            return worker.submit(promotion).get();
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof PromotionException refused) {
                throw refused;
            }
            if (e.getCause() instanceof ShardChanged changed) {
                throw new PromotionException(409, changed.getMessage());
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PromotionException(503, "interrupted");
        }
    }

    /** The shard's members changed while its promotion was being prepared: nothing was changed. */
    static final class ShardChanged extends IllegalStateException {
        ShardChanged(String message) {
            super(message);
        }
    }

    private ClusterMap forced(String shardId, @Nullable String named) throws PromotionException {
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
        if (monitor.health(shard.primary()) != Health.DOWN) {
            return graceful(shard, named != null ? named : best(shard));
        }
        String chosen = named != null ? named : best(shard);
        if (chosen == null) {
            throw new PromotionException(409, "no replica of shard " + shardId + " answers");
        }
        long deadline = System.nanoTime() + config.writeLease().toNanos() * 2 + LEASE_MARGIN_NANOS;
        monitor.withhold(shard.primary());
        try {
            return forcedOverDown(shard, chosen, deadline);
        } finally {
            monitor.release(shard.primary());
        }
    }

    /**
     * Promotes {@code chosen} once the down primary's lease has run out (nothing grants it another
     * meanwhile: it is withheld), or refuses by {@code deadline}.
     */
    private ClusterMap forcedOverDown(Shard shard, String chosen, long deadline) throws PromotionException {
        while (true) {
            var decision = promotion.force(
                    view(shard),
                    chosen,
                    statuses(shard),
                    healths(shard),
                    monitor.leaseSentNanos(shard.primary()),
                    System.nanoTime());
            switch (decision) {
                case Promotion.Promote promote -> {
                    String reason = promote.reason()
                            + (promote.mayLoseBytes() < 0
                                    ? "; what it may lose is not known"
                                    : "; it may lose up to " + promote.mayLoseBytes() + " bytes of the stream");
                    return switchRoles(shard, chosen, reason);
                }
                case Promotion.Blocked blocked -> throw new PromotionException(409, blocked.reason());
                case Promotion.Wait wait -> {
                    if (System.nanoTime() > deadline) {
                        throw new PromotionException(503, "the old primary's write lease did not run out in time");
                    }
                    sleepMillis(Math.max(1, (wait.untilNanos() - System.nanoTime()) / 1_000_000L + 1));
                }
                case Promotion.Keep keep -> {
                    return cluster.current();
                }
            }
        }
    }

    /** The answering replica with the highest replication offset, asked now. */
    private @Nullable String best(Shard shard) {
        String best = null;
        long bestOffset = -1;
        for (String replica : shard.replicas()) {
            NodeStatus status = fetch(replica);
            if (status != null && status.inReplicaRole()) {
                long offset = status.offset();
                if (offset > bestOffset) {
                    best = replica;
                    bestOffset = offset;
                }
            }
        }
        return best;
    }

    private @Nullable NodeStatus fetch(String node) {
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

    /**
     * Hand-offs a former leader began and never finished (it died or lost the lead between pausing
     * the primary and committing the map): the primary may sit paused, refusing every write until
     * its pause runs out. This leader calls each off, so writes resume at once; the operator's
     * request already failed with the leader that took it, and may be sent again.
     */
    private void callOffInheritedHandoffs() {
        for (PendingHandoff handoff : plane.applied().handoffs().values()) {
            if (!plane.leads()) {
                return;
            }
            LOG.warnf(
                    "the hand-off of shard %s from %s to %s begun at %s by an earlier leader never finished:"
                            + " called off, writes resume on %s",
                    handoff.shard(), handoff.from(), handoff.to(), handoff.at(), handoff.from());
            monitor.cancelHandoff(handoff.from());
            plane.recordHandoff(handoff.shard(), null);
        }
    }

    /**
     * A promotion of a live primary that loses nothing: the primary itself pauses every write,
     * waits until the replica has acknowledged its final offset, and answers with it (see the
     * node's hand-off steps); then the map flips. Writes refused meanwhile are sent again by the
     * proxy, to the new primary once the map names it. On any failure the pause is called off and
     * nothing changes.
     */
    private ClusterMap graceful(Shard shard, @Nullable String replica) throws PromotionException {
        if (replica == null) {
            throw new PromotionException(409, "no replica of shard " + shard.id() + " answers");
        }
        // 0. The group records the hand-off first: a leader that takes over mid-way then knows the
        //    primary may be paused, and calls the hand-off off (callOffInheritedHandoffs).
        PendingHandoff begun = new PendingHandoff(
                shard.id(),
                shard.primary(),
                replica,
                java.time.Instant.now()
                        .truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                        .toString());
        boolean recorded;
        try {
            recorded = plane.recordHandoff(shard.id(), begun)
                    .get(plane.commitTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PromotionException(503, "interrupted");
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            recorded = false;
        }
        if (!recorded) {
            throw new PromotionException(
                    503, "the routers' group did not record the hand-off of shard " + shard.id() + "; nothing changed");
        }
        HandedOff done;
        try {
            done = monitor.handoff(shard.primary(), replica, config.catchUpTimeout())
                    .toCompletionStage()
                    .toCompletableFuture()
                    .get(config.catchUpTimeout().toMillis() + 1_000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            callOff(shard);
            throw new PromotionException(503, "interrupted");
        } catch (Exception e) {
            callOff(shard);
            Throwable cause =
                    e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
            throw new PromotionException(
                    503,
                    "the hand-off from " + shard.primary() + " to " + replica + " failed (" + cause.getMessage()
                            + "); nothing changed");
        }
        try {
            // The map that promotes the replica ends the hand-off in the group's state too.
            return switchRoles(shard, replica, "forced, caught up to offset " + done.offset());
        } catch (RuntimeException e) {
            callOff(shard);
            throw e;
        }
    }

    /** Ends a hand-off that will not lead to a promotion: the primary's writes resume, the group forgets it. */
    private void callOff(Shard shard) {
        monitor.cancelHandoff(shard.primary());
        plane.recordHandoff(shard.id(), null);
    }

    private ClusterMap switchRoles(Shard shard, String chosen, String reason) {
        try {
            Promoted record = new Promoted(
                    shard.id(),
                    java.time.Instant.now()
                            .truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                            .toString(),
                    shard.primary(),
                    chosen,
                    -1,
                    reason);
            ClusterMap next = cluster.update(
                    map -> map.withShardMembers(promoted(map, shard, chosen)), map -> handTo(chosen, map), record);
            (reason.startsWith("forced") ? forcedPromotions : automaticPromotions).increment();
            availability.clear(shard.id());
            LOG.warnf(
                    "PROMOTION: shard %s: %s replaces %s as primary at epoch %d (%s); %s rejoins as a replica",
                    shard.id(), chosen, shard.primary(), next.epoch(), reason, shard.primary());
            return next;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The shard with {@code chosen} as its primary and the old primary as a replica, built from the
     * map the change applies to rather than from {@code planned}, the shard as the promotion found
     * it: a hand-off waits seconds, and a replica added or removed meanwhile must stay added or
     * removed. Refused when the primary changed or {@code chosen} is no longer a replica.
     */
    static Shard promoted(ClusterMap map, Shard planned, String chosen) {
        Shard now = map.shards().get(planned.id());
        if (now == null
                || !now.primary().equals(planned.primary())
                || !now.replicas().contains(chosen)) {
            throw new ShardChanged("shard " + planned.id() + " changed while its promotion was prepared ("
                    + (now == null ? "it left the map" : "now " + now.primary() + " with " + now.replicas())
                    + "); nothing was changed");
        }
        List<String> replicas = new ArrayList<>(now.replicas());
        replicas.remove(chosen);
        replicas.add(now.primary());
        return new Shard(now.id(), chosen, replicas);
    }

    /**
     * The last promotion of {@code shardId} as the routers' group recorded it with the map that
     * made it (by whichever router led then), or null.
     */
    public @Nullable Promoted lastPromotion(String shardId) {
        return plane.applied().promotions().get(shardId);
    }

    /**
     * Gives the promoted node its new map, with a write lease, before any write is routed to it;
     * bounded. Without a lease it would refuse writes until its first probe.
     */
    private void handTo(String node, ClusterMap map) {
        String nonce = monitor.leaseNonce(node);
        try {
            Integer status = (nonce == null
                            ? pusher.pushTo(node, map)
                            : pusher.pushWithLease(node, map, nonce, config.writeLease()))
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
