package dev.qache.node.replication;

import dev.qache.edge.ClusterTls;
import dev.qache.edge.Problem;
import dev.qache.node.cluster.SlotOwnership;
import dev.qache.node.cluster.SlotOwnership.Role;
import dev.qache.node.cluster.WriteLease;
import dev.qache.node.cluster.WritePause;
import dev.qache.node.config.NodeConfig;
import dev.qache.node.security.Credentials;
import dev.qache.node.store.ChangeListener;
import dev.qache.node.store.Store;
import dev.qache.node.store.StoreStats;
import dev.qache.protocol.HandedOff;
import dev.qache.protocol.MapDocument;
import dev.qache.protocol.NodeStatus;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.ext.web.RoutingContext;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * This node's part in replication, driven by the cluster map: as a shard's primary it lets every
 * store change into the {@link ReplicationLog} and serves its replicas' streams; as a replica it
 * follows its primary through a {@link ReplicaLink}. A new map may promote it (a new history
 * begins, and its backlog lets the other replicas continue without a full sync) or demote it (it
 * stops taking writes first, then syncs from the new primary, which drops whatever it had that
 * the new primary never got).
 */
@Singleton
public class Replication {

    private static final Logger LOG = Logger.getLogger(Replication.class);

    private final Store store;
    private final SlotOwnership ownership;
    private final Vertx vertx;
    private final ReplicationLog log;
    private final ReplicationMetrics metrics;
    private final Credentials credentials;
    private final ClusterTls tls;
    private final WriteLease lease;
    private final WritePause pause;
    private final ImportMarks marks;
    private final NodeConfig.Replication settings;

    /**
     * Whether this node's store holds a complete copy of the history its log names: false from
     * the start of a full sync until its snapshot ends, and from a demotion until the node has
     * synced with its new primary (what it had may differ from the new primary's history).
     */
    private final AtomicBoolean synced = new AtomicBoolean();

    private final Set<PrimarySession> sessions = ConcurrentHashMap.newKeySet();
    private final Counter promotions;
    private final Counter demotions;
    private final MultiGauge lagBytes;
    private WebSocketClient client;

    /** Guarded by this. */
    private Role role = Role.NONE;

    private volatile ReplicaLink link;

    Replication(
            Store store,
            SlotOwnership ownership,
            Vertx vertx,
            NodeConfig config,
            Credentials credentials,
            ClusterTls tls,
            WriteLease lease,
            WritePause pause,
            ImportMarks marks,
            MeterRegistry registry) {
        this.pause = pause;
        this.marks = marks;
        this.tls = tls;
        this.lease = lease;
        this.settings = config.replication();
        this.store = store;
        this.ownership = ownership;
        this.vertx = vertx;
        this.log = new ReplicationLog(config.replication().backlogSize().asLongValue());
        this.metrics = new ReplicationMetrics(registry);
        this.credentials = credentials;
        this.promotions = Counter.builder("qache.replication.promotions")
                .description("Times this node became its shard's primary after being a replica")
                .register(registry);
        this.demotions = Counter.builder("qache.replication.demotions")
                .description("Times this node stopped being a primary and became a replica")
                .register(registry);
        Gauge.builder("qache.replication.backlog", log, ReplicationLog::capacity)
                .baseUnit("bytes")
                .description("Memory held for the replication backlog (qache.node.replication.backlog-size)")
                .register(registry);
        Gauge.builder(
                        "qache.replication.sync.buffered",
                        sessions,
                        all -> all.stream()
                                .mapToLong(PrimarySession::bufferedBytes)
                                .sum())
                .baseUnit("bytes")
                .description("Stream held for replicas beyond the backlog, all replicas together (on the primary)")
                .register(registry);
        Gauge.builder("qache.replication.offset", log, ReplicationLog::offset)
                .description("This node's replication offset: bytes of the stream written or applied")
                .register(registry);
        this.lagBytes = MultiGauge.builder("qache.replication.lag")
                .baseUnit("bytes")
                .description("Bytes of the stream a replica has not acknowledged, per replica (on the primary)")
                .register(registry);
        vertx.setPeriodic(1000, ignored -> publishLag());
    }

    private synchronized WebSocketClient client() {
        if (client == null) {
            client = vertx.createWebSocketClient(tls.apply(new WebSocketClientOptions()
                    .setMaxMessageSize(64 * 1024 * 1024)
                    .setMaxFrameSize(1024 * 1024)
                    .setTcpNoDelay(true)));
        }
        return client;
    }

    private void publishLag() {
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        for (PrimarySession session : sessions) {
            rows.add(MultiGauge.Row.of(Tags.of("replica", session.replica()), session.lagBytes()));
        }
        lagBytes.register(rows, true);
    }

    /**
     * Installs a pushed map, switching this node's role in the order that keeps every acknowledged
     * write in the stream: a node that becomes primary starts recording changes before it takes
     * its first write; a node that stops being primary stops taking writes before it stops
     * recording.
     */
    public synchronized SlotOwnership.Outcome install(MapDocument map, String self) {
        if (map.epoch() < ownership.epoch()) {
            return SlotOwnership.Outcome.STALE;
        }
        if (ownership.conflicts(map)) {
            return SlotOwnership.Outcome.CONFLICT;
        }
        Role next = Role.NONE;
        String primary = null;
        for (MapDocument.ShardEntry shard : map.shards()) {
            if (shard.primary().equals(self)) {
                next = Role.PRIMARY;
                primary = self;
            } else if (shard.replicas().contains(self)) {
                next = Role.REPLICA;
                primary = shard.primary();
            }
        }
        // A replica hides expired keys but leaves their removal to its primary's deletes.
        store.expireLocally(next != Role.REPLICA);
        ReplicaLink current = link;
        boolean followChanges =
                next == Role.REPLICA && (current == null || !current.primary().equals(primary));
        if (next == Role.PRIMARY && role != Role.PRIMARY) {
            if (current != null) {
                current.stop();
                link = null;
            }
            // Always a history of its own: a node that was out of the map (role NONE) may hold
            // the history it once shared with another node, which may since have become the
            // primary of it too; two primaries extending one history hand a replica a stream
            // that does not fit what it holds.
            log.startNewHistory();
            if (role == Role.REPLICA) {
                promotions.increment();
                LOG.infof(
                        "PROMOTED: this node (%s) is now the primary of its shard at epoch %d; the stream"
                                + " continues from offset %d as history %s",
                        self, map.epoch(), log.offset(), log.replicationId());
            }
            store.listen(log);
        }
        long epochBefore = ownership.epoch();
        if (map.epoch() != epochBefore) {
            // A hand-off's pause lasts until the map that settles it.
            pause.end();
        }
        int[] stale = new int[2];
        SlotOwnership.Outcome outcome = ownership.accept(map, self, slot -> {
            int keys = store.dropSlot(slot);
            stale[0] += keys;
            stale[1] += keys > 0 ? 1 : 0;
            return keys;
        });
        if (stale[0] > 0) {
            LOG.infof(
                    "dropped %d stale keys of %d slots before serving them at epoch %d",
                    stale[0], stale[1], map.epoch());
        }
        if (next == Role.PRIMARY && role == Role.PRIMARY) {
            lease.carryOver(epochBefore, map.epoch());
        }
        if (next != Role.PRIMARY && role == Role.PRIMARY) {
            store.listen(ChangeListener.NONE);
            closeSessions("this node is no longer the primary");
            if (next == Role.REPLICA) {
                synced.set(false);
                demotions.increment();
                LOG.infof(
                        "DEMOTED: this node (%s) is now a replica of %s at epoch %d; it resyncs from it",
                        self, primary, map.epoch());
            }
        }
        if (next == Role.NONE && current != null) {
            current.stop();
            link = null;
        }
        if (next == Role.NONE && role != Role.NONE) {
            // Out of the map it drops the slots it held (above), outside the stream.
            store.listen(ChangeListener.NONE);
            log.forgetHistory();
        }
        if (followChanges) {
            if (current != null) {
                current.stop();
            }
            store.listen(ChangeListener.NONE);
            ReplicaLink follow = new ReplicaLink(
                    vertx,
                    client(),
                    primary,
                    self,
                    credentials::clusterAuthorization,
                    ownership::epoch,
                    log,
                    store,
                    metrics,
                    synced,
                    settings.heartbeatInterval(),
                    settings.idleTimeout(),
                    marks);
            link = follow;
            LOG.infof("this node (%s) replicates %s", self, primary);
            follow.start();
        }
        role = next;
        notifyAll(); // awaitNotPrimary
        return outcome;
    }

    /** Whether this node is its shard's primary now. */
    public synchronized boolean primary() {
        return role == Role.PRIMARY;
    }

    /**
     * Waits until this node is no longer a primary (a map that demotes it or takes it out was
     * installed) or {@code deadlineNanos} (nanoTime) passes; true when it no longer is.
     */
    public synchronized boolean awaitNotPrimary(long deadlineNanos) throws InterruptedException {
        while (role == Role.PRIMARY) {
            long left = deadlineNanos - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    /**
     * Whether this node may answer reads: not a replica in the middle of a full sync, whose store
     * holds only part of its primary's (a miss there says nothing).
     */
    public boolean readable() {
        return ownership.role() != Role.REPLICA || synced.get();
    }

    /** The offset of the last write this node's log holds. */
    public long offset() {
        return log.offset();
    }

    /** The replication history this node's log holds ({@link ReplicationLog#NO_HISTORY} mid-sync). */
    public String history() {
        return log.replicationId();
    }

    private void closeSessions(String why) {
        for (PrimarySession session : sessions) {
            session.close(PrimarySession.CLOSE_DEPOSED, why);
        }
    }

    /** {@code GET /_internal/replication}: a replica opens its stream (a WebSocket). */
    public void serve(RoutingContext ctx) {
        HttpServerRequest request = ctx.request();
        String replica = request.getHeader(Handshake.REPLICA);
        String id = request.getHeader(Handshake.REPLICATION_ID);
        long epoch;
        long offset;
        try {
            epoch = Long.parseLong(Objects.requireNonNull(request.getHeader(Handshake.EPOCH)));
            offset = Long.parseLong(Objects.requireNonNull(request.getHeader(Handshake.OFFSET)));
        } catch (RuntimeException e) {
            Problem.send(
                    ctx.response(),
                    400,
                    "bad-request",
                    "Bad Request",
                    "a replication handshake needs " + Handshake.EPOCH + " and " + Handshake.OFFSET + " as numbers");
            return;
        }
        if (replica == null || id == null) {
            Problem.send(
                    ctx.response(),
                    400,
                    "bad-request",
                    "Bad Request",
                    "a replication handshake needs " + Handshake.REPLICA + " and " + Handshake.REPLICATION_ID);
            return;
        }
        String version = request.getHeader(Handshake.VERSION);
        int replicaVersion;
        try {
            replicaVersion = version == null ? 0 : Integer.parseInt(version);
        } catch (NumberFormatException e) {
            replicaVersion = 0;
        }
        if (!Handshake.supported(replicaVersion)) {
            Problem.send(
                    ctx.response(),
                    409,
                    "unsupported-version",
                    "Conflict",
                    "this node speaks replication protocol versions " + Handshake.OLDEST_VERSION + " to "
                            + Handshake.PROTOCOL_VERSION + "; the replica sent "
                            + (version == null ? "none" : version));
            return;
        }
        if (ownership.role() != Role.PRIMARY) {
            Problem.send(
                    ctx.response(),
                    409,
                    "not-primary",
                    "Conflict",
                    "this node is not a primary; its shard's" + " primary is " + ownership.primary());
            return;
        }
        long own = ownership.epoch();
        if (!lease.grantedAt(own)) {
            // Named primary by the map but not confirmed by the router yet: it may have restarted
            // without its data, and a replica that synced from it now would wipe its own copy.
            Problem.send(
                    ctx.response(),
                    409,
                    "unconfirmed-primary",
                    "Conflict",
                    "this node has not been confirmed as primary at epoch " + own + " yet");
            return;
        }
        if (epoch > own) {
            Problem.send(
                    ctx.response(),
                    409,
                    "stale-epoch",
                    "Conflict",
                    "the replica knows epoch " + epoch + ", newer than this node's " + own
                            + ": this node may have been deposed");
            return;
        }
        boolean full = !log.canContinue(id, offset);
        boolean sendsMarks = replicaVersion >= 3;
        request.toWebSocket().onComplete(upgrade -> {
            if (upgrade.failed()) {
                LOG.warnf(
                        "replica %s: the replication upgrade failed: %s",
                        replica, upgrade.cause().getMessage());
                return;
            }
            PrimarySession session = new PrimarySession(
                    upgrade.result(),
                    vertx.getOrCreateContext(),
                    log,
                    store,
                    replica,
                    metrics,
                    sessions::remove,
                    settings.syncBufferSize().asLongValue(),
                    settings.heartbeatInterval(),
                    settings.idleTimeout());
            sessions.add(session);
            session.start(full, offset, own, sendsMarks ? marks : ImportMarks.NONE);
        });
    }

    /*
     * Graceful promotion, on the primary (POST /_internal/handoff?to=<replica>&timeout-ms=<ms>):
     *  1. Pause every write path (client writes and deletes, slot imports): each is refused with
     *     Qache-Refused: paused, nothing applied, and the router sends it again later.
     *  2. Let every event loop finish the handler it is running: once each has run a task queued
     *     after the pause, no write that passed the check before it is still being applied; and
     *     wait until no slot import's chunk is being applied on a worker thread (WritePause#idle).
     *  3. The log's end is now the shard's final offset. Wait until the replica has acknowledged
     *     it (bounded by the timeout).
     *  4. Answer {"offset": .., "replicationId": ..}; the router then flips the map. The pause
     *     stays until a new map arrives; DELETE /_internal/handoff (the router gave up) or a
     *     timeout with nothing else said ends it (see WritePause).
     */

    /** {@code POST /_internal/handoff}: steps 1 to 4 above. */
    public void handoff(RoutingContext ctx) {
        String to = ctx.request().getParam("to");
        long timeoutMillis;
        try {
            timeoutMillis = Long.parseLong(ctx.request().getParam("timeout-ms", "5000"));
        } catch (NumberFormatException e) {
            timeoutMillis = -1;
        }
        if (to == null || timeoutMillis <= 0) {
            Problem.send(
                    ctx.response(),
                    400,
                    "bad-request",
                    "Bad Request",
                    "hand-off needs ?to=host:port and timeout-ms > 0");
            return;
        }
        if (ownership.role() != Role.PRIMARY) {
            Problem.send(ctx.response(), 409, "not-primary", "Conflict", "this node is not a primary");
            return;
        }
        PrimarySession target = null;
        for (PrimarySession session : sessions) {
            if (session.replica().equals(to) && !session.syncing()) {
                target = session;
            }
        }
        if (target == null) {
            Problem.send(
                    ctx.response(), 409, "replica-not-streaming", "Conflict", to + " is not streaming from this node");
            return;
        }
        long now = System.nanoTime();
        long deadline = now + timeoutMillis * 1_000_000L;
        // Long enough for the router to flip the map after the answer, bounded all the same.
        pause.begin(deadline + 2 * timeoutMillis * 1_000_000L);
        PrimarySession replica = target;
        long epoch = ownership.epoch();
        io.vertx.core.Context context = vertx.getOrCreateContext();
        java.util.concurrent.atomic.AtomicInteger loops = new java.util.concurrent.atomic.AtomicInteger();
        io.netty.channel.EventLoopGroup group = vertx.nettyEventLoopGroup();
        group.forEach(executor -> loops.incrementAndGet());
        // The final offset, read once no write is being applied any more (-1 until then).
        long[] finalOffset = {-1};
        String[] history = {""};
        Runnable drained = () -> context.runOnContext(ignored -> vertx.setPeriodic(2, id -> {
            boolean late = System.nanoTime() - deadline > 0;
            if (ownership.epoch() != epoch) {
                vertx.cancelTimer(id);
                Problem.send(ctx.response(), 409, "map-changed", "Conflict", "a new map arrived meanwhile");
                return;
            }
            if (finalOffset[0] < 0 && pause.idle()) {
                // Step 2 for writes off the event loops (a slot import's chunk on a worker thread).
                finalOffset[0] = log.offset();
                history[0] = log.replicationId();
            }
            if (finalOffset[0] >= 0 && replica.acknowledged() >= finalOffset[0]) {
                vertx.cancelTimer(id);
                LOG.infof("hand-off: %s has every write up to offset %d; writes stay paused", to, finalOffset[0]);
                ctx.response()
                        .putHeader("Content-Type", "application/json")
                        .end(io.vertx.core.json.Json.encodeToBuffer(new HandedOff(finalOffset[0], history[0])));
            } else if (late) {
                vertx.cancelTimer(id);
                pause.end();
                Problem.send(
                        ctx.response(),
                        503,
                        "catch-up-timeout",
                        "Service Unavailable",
                        finalOffset[0] < 0
                                ? "a slot import was still being applied at the deadline; writes resumed"
                                : to + " did not acknowledge offset " + finalOffset[0] + " in time; writes resumed");
            }
        }));
        group.forEach(executor -> executor.execute(() -> {
            if (loops.decrementAndGet() == 0) {
                drained.run();
            }
        }));
    }

    /** {@code DELETE /_internal/handoff}: the router gave up; writes resume. */
    public void cancelHandoff(RoutingContext ctx) {
        pause.end();
        ctx.response().setStatusCode(204).end();
    }

    /**
     * This node's state for {@code GET /_internal/status}: its map, its store, its replication and
     * its write lease, read at {@code nowNanos}. Issues the nonce the next lease grant must name.
     */
    public NodeStatus status(long nowNanos) {
        // A replica in a full sync holds no complete history: it reports none, and offset 0.
        boolean complete = ownership.role() != Role.REPLICA || synced.get();
        ReplicaLink following = link;
        List<NodeStatus.ReplicaSession> replicas = new ArrayList<>();
        for (PrimarySession session : sessions) {
            replicas.add(new NodeStatus.ReplicaSession(
                    session.replica(),
                    session.acknowledged(),
                    session.lagBytes(),
                    session.syncing(),
                    session.bufferedBytes()));
        }
        long epoch = ownership.epoch();
        StoreStats stats = store.stats();
        return new NodeStatus(
                ownership.self(),
                epoch,
                ownership.shardId(),
                stats.keys(),
                stats.usedBytes(),
                stats.limitBytes(),
                stats.hits(),
                stats.misses(),
                ownership.role().name().toLowerCase(java.util.Locale.ROOT),
                complete,
                complete ? log.replicationId() : ReplicationLog.NO_HISTORY,
                complete ? log.offset() : 0,
                log.previousId(),
                log.previousEnd(),
                log.startOffset(),
                log.capacity(),
                // A hand-off's pause: writes are refused (Qache-Refused: paused) until the map settles it.
                pause.inForce(),
                following == null ? null : following.primary(),
                following == null ? null : following.state().name().toLowerCase(java.util.Locale.ROOT),
                replicas,
                metrics.fullSyncsReceived(),
                metrics.partialSyncsReceived(),
                metrics.fullSyncsServed(),
                metrics.partialSyncsServed(),
                metrics.lagMicros(0.99),
                lease.remainingMillis(nowNanos, epoch),
                lease.grantedAt(epoch),
                lease.issue(nowNanos));
    }

    @PreDestroy
    void close() {
        ReplicaLink current = link;
        if (current != null) {
            current.stop();
        }
        closeSessions("the node is stopping");
    }
}
