package dev.qache.router.migration;

import dev.qache.edge.ClusterTls;
import dev.qache.protocol.Fencing;
import dev.qache.protocol.NodeStatus;
import dev.qache.protocol.SlotImported;
import dev.qache.router.cluster.ClusterMap;
import dev.qache.router.cluster.ClusterState;
import dev.qache.router.cluster.NodeJson;
import dev.qache.router.cluster.Shard;
import dev.qache.router.config.RouterConfig;
import dev.qache.router.control.ControlPlane;
import dev.qache.router.control.ControlState;
import dev.qache.router.control.CopiedSlot;
import dev.qache.router.failover.FailureDetector;
import dev.qache.router.failover.MapPusher;
import dev.qache.router.failover.NodeMonitor;
import dev.qache.router.latency.ClientLatency;
import dev.qache.router.security.Credentials;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.HdrHistogram.Histogram;
import org.jboss.logging.Logger;

/**
 * Runs the migration the cluster map describes ({@link ClusterMap#moving}): hands the migrating
 * map to every primary involved, then copies slots a few at a time (each target node pulls a slot
 * from its source), within the configured rate, and when every slot is copied saves the map that
 * flips their owners. Each slot copied is committed to the routers' group as the migration's
 * progress; a router that starts leading mid-way (the leader died, or a lone router restarted)
 * finds the moving slots in its map and copies those the group does not record as copied to a
 * target that still holds them (a copy never overwrites a newer write, so copying again is safe);
 * a failover of a source or target primary restarts the copies it affects. Runs on one event loop.
 */
@Singleton
public class MigrationRunner {

    private static final Logger LOG = Logger.getLogger(MigrationRunner.class);

    private final Vertx vertx;
    private final ClusterState cluster;
    private final ControlPlane plane;
    private final MapPusher pusher;
    private final NodeMonitor monitor;
    private final ClientLatency latency;
    private final CopyRate copyRate;
    private final Credentials credentials;
    private final RouterConfig.Migration config;
    private final HttpClient client;
    private Context context;

    private volatile Migration current;
    private final Map<String, String> primaries = new HashMap<>();
    private boolean finishing;
    /** The epoch of the map that planned {@link #current}, as the group keeps it (-1: unknown). */
    private long planEpoch = -1;
    /** Slots copied and not yet committed as the migration's progress. */
    private final List<CopiedSlot> unrecorded = new ArrayList<>();
    /** Whether a progress entry is on its way to the group (one at a time: the rest batch up). */
    private boolean recording;

    MigrationRunner(
            Vertx vertx,
            ClusterState cluster,
            MapPusher pusher,
            NodeMonitor monitor,
            ClientLatency latency,
            ControlPlane plane,
            Credentials credentials,
            ClusterTls tls,
            RouterConfig config,
            MeterRegistry registry) {
        this.vertx = vertx;
        this.plane = plane;
        this.cluster = cluster;
        this.pusher = pusher;
        this.monitor = monitor;
        this.latency = latency;
        RouterConfig.Migration settings = config.migration();
        long max = settings.rate().asLongValue();
        this.copyRate = new CopyRate(new CopyRate.Settings(
                max,
                Math.min(max, settings.startRate().asLongValue()),
                Math.min(max, settings.minRate().asLongValue()),
                settings.latencyFactor(),
                settings.latencyFloor().toNanos() / 1_000));
        this.credentials = credentials;
        this.config = config.migration();
        this.client = vertx.createHttpClient(tls.apply(
                new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true).setConnectTimeout(2_000)));
        Gauge.builder("qache.router.migration.slots.remaining", this, r -> {
                    Migration m = r.current;
                    if (m == null) {
                        return 0;
                    }
                    Migration.Progress p = m.progress(System.nanoTime());
                    return p.slotsTotal() - p.slotsDone();
                })
                .description("Slots of the migration under way not yet copied")
                .register(registry);
        Gauge.builder("qache.router.migration.copied", this, r -> {
                    Migration m = r.current;
                    return m == null ? 0 : m.progress(System.nanoTime()).bytesCopied();
                })
                .baseUnit("bytes")
                .description("Bytes the migration under way has copied")
                .register(registry);
    }

    void start(@Observes StartupEvent started) {
        context = vertx.getOrCreateContext();
        context.runOnContext(ignored -> {
            // Against the map current when it runs, not the one that woke it: maps published in a
            // burst (a router catching up with its group) must not plan from a past one.
            cluster.onChange(map -> context.runOnContext(v -> reconcile(cluster.current())));
            // A router that starts leading resumes the migration its map describes.
            plane.onLeadership(leads -> context.runOnContext(v -> {
                if (leads) {
                    reconcile(cluster.current());
                }
            }));
            reconcile(cluster.current());
            vertx.setPeriodic(Math.max(5, config.tickInterval().toMillis()), id -> tick());
            vertx.setPeriodic(Math.max(10, config.rateWindow().toMillis()), id -> adaptRate());
        });
    }

    /** The migration under way or the last one, or null. */
    public Migration current() {
        return current;
    }

    private void reconcile(ClusterMap map) {
        for (Shard shard : map.shards().values()) {
            String before = primaries.put(shard.id(), shard.primary());
            if (before != null && !before.equals(shard.primary()) && current != null) {
                LOG.infof("migration %s: shard %s has a new primary; its copies start again", current.id(), shard.id());
                current.primaryChanged(shard.id());
            }
        }
        if (map.moving().isEmpty()) {
            finishing = false;
            return;
        }
        if (!plane.leads()) {
            return; // the group's leader alone runs migrations
        }
        Migration m = current;
        if (m != null
                && (m.state() == Migration.State.STREAMING
                        || m.state() == Migration.State.CUTOVER
                        || m.state() == Migration.State.PLANNED)) {
            return;
        }
        List<Migration.Move> plan = new ArrayList<>();
        map.moving()
                .forEach((slot, target) -> plan.add(
                        new Migration.Move(slot, map.slots().orElseThrow().ownerOf(slot), target)));
        ControlState applied = plane.applied();
        planEpoch = applied.epoch() == map.epoch() ? applied.planEpoch() : -1;
        // Named after the map that planned it, so every leader names it alike. Attempt numbers
        // from the wall clock: a router restarted mid-way numbers its copies above any its
        // previous run began (a node refuses an attempt older than one it has seen).
        Migration next = new Migration(
                "m" + (planEpoch >= 0 ? planEpoch : map.epoch()),
                plan,
                config.slotsInFlight(),
                config.rate().asLongValue(),
                config.attempts(),
                System.currentTimeMillis() << 20);
        current = next;
        finishing = false;
        unrecorded.clear();
        // Resuming compares each committed copy with its target primary's last status; a router
        // that has just started (a lone router restarted mid-migration) has probed no node yet,
        // so it asks those primaries first rather than copy every slot again.
        List<Future<Void>> statuses = new ArrayList<>();
        if (planEpoch >= 0) {
            Set<String> targets = new LinkedHashSet<>();
            for (String target : map.moving().values()) {
                Shard shard = map.shards().get(target);
                if (shard != null) {
                    targets.add(shard.primary());
                }
            }
            targets.forEach(primary -> statuses.add(monitor.knowStatusOf(primary)));
        }
        Future.join(statuses)
                .onComplete(known -> context.runOnContext(v -> {
                    if (current == next && next.state() == Migration.State.PLANNED) {
                        begin(next, map, applied, plan);
                    }
                }));
    }

    /** Resumes what the group committed of {@code next}, hands the map to its primaries, and starts it. */
    private void begin(Migration next, ClusterMap map, ControlState applied, List<Migration.Move> plan) {
        int resumed = resume(next, map, applied);
        if (resumed > 0) {
            LOG.infof(
                    "migration %s: %d of %d slots were copied under an earlier leader; copying the rest",
                    next.id(), resumed, plan.size());
        }
        // Every primary involved must refuse writes of its outgoing slots before a copy starts.
        Set<String> involved = new LinkedHashSet<>();
        for (Migration.Move move : plan) {
            involved.add(map.shards().get(move.from()).primary());
            involved.add(map.shards().get(move.to()).primary());
        }
        List<Future<Integer>> pushes = new ArrayList<>();
        for (String node : involved) {
            pushes.add(pusher.pushTo(node, map));
        }
        Future.join(pushes).onComplete(ignored -> {
            LOG.infof("migration %s: %d slots to copy (map epoch %d)", next.id(), plan.size(), map.epoch());
            long now = System.nanoTime();
            next.start(now);
            if (config.adaptive()) {
                next.rate(copyRate.start(), now);
            }
        });
    }

    /**
     * Marks done the slots of {@code next} that the group committed as copied in this migration,
     * if their target shard still has the primary that took the copy, on the same history and at
     * or past the copy's position (it still holds what it took); the others are copied again.
     */
    private int resume(Migration next, ClusterMap map, ControlState applied) {
        if (planEpoch < 0) {
            return 0;
        }
        int resumed = 0;
        for (Map.Entry<Integer, String> moving : map.moving().entrySet()) {
            CopiedSlot copied = applied.copied().get(moving.getKey());
            Shard target = map.shards().get(moving.getValue());
            if (copied == null || target == null || !copied.target().equals(target.id())) {
                continue;
            }
            NodeStatus status = monitor.status(target.primary());
            if (!copied.node().equals(target.primary())
                    || status == null
                    || !copied.history().equals(status.replicationId())
                    || status.offset() < copied.offset()) {
                continue;
            }
            if (next.resumed(
                    copied.slot(),
                    copied.keys(),
                    copied.bytes(),
                    new Migration.Mark(copied.history(), copied.offset()))) {
                resumed++;
            }
        }
        return resumed;
    }

    /**
     * Commits the slots copied since the last entry as the migration's progress, one entry at a
     * time (those copied meanwhile go in the next). A progress lost (the group refused it, or this
     * router stopped leading) only costs a leader that takes over copying those slots again.
     */
    private void record() {
        if (recording || unrecorded.isEmpty() || planEpoch < 0 || !plane.leads()) {
            return;
        }
        List<CopiedSlot> batch = List.copyOf(unrecorded);
        unrecorded.clear();
        recording = true;
        long plan = planEpoch;
        plane.recordCopied(plan, batch)
                .whenComplete((applied, failure) -> context.runOnContext(ignored -> {
                    recording = false;
                    if (failure != null) {
                        LOG.debugf(
                                "migration: the progress of %d slots was not committed: %s",
                                batch.size(), failure.getMessage());
                    }
                    if (plan == planEpoch) {
                        record();
                    }
                }));
    }

    /**
     * Every rate window: the client latency since the last one either joins the baseline (no copy
     * runs) or sets the copy's rate (see CopyRate).
     */
    private void adaptRate() {
        Histogram window = latency.window();
        long requests = window.getTotalCount();
        long p99 = requests == 0 ? 0 : window.getValueAtPercentile(99);
        Migration m = current;
        if (m == null || m.state() != Migration.State.STREAMING) {
            copyRate.steady(requests, p99);
        } else if (config.adaptive()) {
            long before = m.rate();
            long after = copyRate.during(requests, p99);
            m.rate(after, System.nanoTime());
            if (after < before) {
                LOG.debugf(
                        "migration %s: client p99 %d µs over the %d µs target: copy rate %d -> %d B/s",
                        m.id(), p99, copyRate.targetMicros(), before, after);
            }
        }
    }

    private void tick() {
        Migration m = current;
        if (m == null || !plane.leads()) {
            return;
        }
        ClusterMap map = cluster.current();
        switch (m.state()) {
            case STREAMING -> {
                for (Migration.Copy copy : m.tick(System.nanoTime())) {
                    copy(m, map, copy);
                }
            }
            case CUTOVER -> {
                if (m.replicasBehind(targetReplicas(map, m)).isEmpty()) {
                    finish(m, true);
                }
            }
            case ABORTED -> finish(m, false);
            default -> {}
        }
    }

    /** Each target shard's replicas as the monitor last heard from them. */
    private Map<String, List<Migration.Replica>> targetReplicas(ClusterMap map, Migration m) {
        Map<String, List<Migration.Replica>> replicas = new HashMap<>();
        for (String shard : m.marks().keySet()) {
            Shard target = map.shards().get(shard);
            if (target == null) {
                continue;
            }
            List<Migration.Replica> list = new ArrayList<>();
            for (String replica : target.replicas()) {
                NodeStatus status = monitor.status(replica);
                boolean answering = monitor.health(replica) != FailureDetector.Health.DOWN && status != null;
                list.add(new Migration.Replica(
                        replica,
                        answering,
                        status != null && status.synced(),
                        status == null ? "" : status.replicationId(),
                        status == null ? 0 : status.offset()));
            }
            replicas.put(shard, list);
        }
        return replicas;
    }

    private void copy(Migration m, ClusterMap map, Migration.Copy move) {
        Shard from = map.shards().get(move.from());
        Shard to = map.shards().get(move.to());
        if (from == null || to == null) {
            m.failed(move.slot(), move.attempt(), "a shard of the move left the map", System.nanoTime());
            return;
        }
        String target = to.primary();
        int colon = target.lastIndexOf(':');
        RequestOptions request = new RequestOptions()
                .setMethod(HttpMethod.POST)
                .setHost(target.substring(0, colon))
                .setPort(Integer.parseInt(target.substring(colon + 1)))
                .setURI("/_internal/slots/" + move.slot() + "/import?from=" + from.primary() + "&attempt="
                        + move.attempt())
                .setIdleTimeout(30_000)
                .putHeader(Fencing.EPOCH, Long.toString(map.epoch()))
                .putHeader("Authorization", credentials.clusterAuthorization());
        client.request(request)
                .compose(r -> r.send()
                        .compose(response -> response.body().map(body -> {
                            if (response.statusCode() != 200) {
                                throw new IllegalStateException(response.statusCode() + " " + body);
                            }
                            return NodeJson.read(body.getBytes(), SlotImported.class, "import answer");
                        })))
                .onComplete(result -> {
                    if (result.succeeded()) {
                        SlotImported copied = result.result();
                        Migration.Mark mark = new Migration.Mark(copied.replicationId(), copied.offset());
                        long keys = copied.keys();
                        long bytes = copied.bytes();
                        if (m.copied(move.slot(), move.attempt(), keys, bytes, mark, System.nanoTime())
                                && m == current) {
                            unrecorded.add(new CopiedSlot(
                                    move.slot(), move.to(), target, mark.history(), mark.offset(), keys, bytes));
                            record();
                        }
                    } else {
                        LOG.debugf(
                                "migration %s: slot %d attempt %d: %s",
                                m.id(),
                                move.slot(),
                                move.attempt(),
                                result.cause().getMessage());
                        m.failed(move.slot(), move.attempt(), result.cause().getMessage(), System.nanoTime());
                    }
                    // Start the next copy now rather than at the next tick: with a few copies in
                    // flight, waiting for the tick capped a migration at a few hundred slots/s.
                    tick();
                });
    }

    /**
     * The nodes of shards that left the map (a removal committed, or a joining shard's migration
     * aborted) get the final map too: naming them no more, it makes them drop what they held, so a
     * node added again later starts empty rather than with stale keys.
     */
    private void tellLeavers(ClusterMap before, ClusterMap after) {
        for (Shard shard : before.shards().values()) {
            if (after.shards().containsKey(shard.id())) {
                continue;
            }
            List<String> nodes = new ArrayList<>(shard.replicas());
            nodes.add(shard.primary());
            for (String node : nodes) {
                pusher.pushTo(node, after)
                        .onFailure(e -> LOG.infof(
                                "node %s of shard %s, which left the map, did not take the final map: %s",
                                node, shard.id(), e.getMessage()));
            }
        }
    }

    private void finish(Migration m, boolean commit) {
        if (finishing || cluster.current().moving().isEmpty()) {
            return;
        }
        finishing = true;
        ClusterMap before = cluster.current();
        vertx.executeBlocking(() ->
                        cluster.update(commit ? ClusterMap::withMovesCommitted : ClusterMap::withMovesAborted, map -> {
                            pusher.pushToPrimariesAndWait(map, java.time.Duration.ofSeconds(2));
                            tellLeavers(before, map);
                        }))
                .onComplete(result -> {
                    if (result.failed()) {
                        finishing = false;
                        LOG.errorf(result.cause(), "migration %s: saving the final map failed; retrying", m.id());
                        return;
                    }
                    Migration.Progress p = m.progress(System.nanoTime());
                    if (commit) {
                        m.committed();
                        LOG.infof(
                                "migration %s done: %d slots, %d keys, %d bytes copied; map epoch %d",
                                m.id(),
                                p.slotsTotal(),
                                p.keysCopied(),
                                p.bytesCopied(),
                                result.result().epoch());
                    } else {
                        LOG.warnf(
                                "migration %s aborted (%s); map epoch %d",
                                m.id(), p.reason(), result.result().epoch());
                    }
                });
    }
}
