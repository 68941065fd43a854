package dev.qache.node.replication;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qache.node.store.Store;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * A replica's link to its primary: connects, syncs (partial when the primary's backlog still
 * holds this replica's offset, else full), applies the stream in order, acknowledges each frame,
 * and reconnects with a short backoff until it is {@link #stop stopped}. All of it runs on one
 * event loop.
 */
final class ReplicaLink {

    private static final Logger LOG = Logger.getLogger(ReplicaLink.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MIN_BACKOFF_MILLIS = 50;
    private static final long MAX_BACKOFF_MILLIS = 1000;

    enum State {
        CONNECTING,
        SYNCING,
        STREAMING,
        STOPPED
    }

    private final Vertx vertx;
    private final Context context;
    private final WebSocketClient client;
    private final String primary;
    private final String self;
    private final Supplier<String> authorization;
    private final LongSupplier epoch;
    private final ReplicationLog log;
    private final Store store;
    private final Records records;

    /** Snapshot chunks hold whole records; the stream's frames may end inside one (see records). */
    private final Records snapshotRecords;

    private final ReplicationMetrics metrics;
    private final AtomicBoolean synced;
    private final long heartbeatMillis;
    private final long idleTimeoutNanos;

    /** The history a full sync in progress brings; named in the log when its snapshot ends. */
    private String syncing = ReplicationLog.NO_HISTORY;

    /** When the current connection last brought a frame (System.nanoTime). */
    private long lastHeardNanos;

    private long heartbeatTimer = -1;

    /** When this link last acknowledged (System.nanoTime): a heartbeat goes only when it is a while. */
    private long lastAckNanos;

    /** Held while a frame is applied, so {@link #stop} can wait for the one in progress. */
    private final Object applying = new Object();

    private volatile State state = State.CONNECTING;
    private WebSocket socket;
    private long backoffMillis = MIN_BACKOFF_MILLIS;
    private volatile boolean stopped;

    /** Where the import marks a primary sends at the start of a full sync go. */
    private final ImportMarks marks;

    ReplicaLink(
            Vertx vertx,
            WebSocketClient client,
            String primary,
            String self,
            Supplier<String> authorization,
            LongSupplier epoch,
            ReplicationLog log,
            Store store,
            ReplicationMetrics metrics,
            AtomicBoolean synced,
            java.time.Duration heartbeat,
            java.time.Duration idleTimeout,
            ImportMarks marks) {
        this.vertx = vertx;
        this.marks = marks;
        this.context = vertx.getOrCreateContext();
        this.client = client;
        this.primary = primary;
        this.self = self;
        this.authorization = authorization;
        this.epoch = epoch;
        this.log = log;
        this.store = store;
        this.records = new Records(store);
        this.snapshotRecords = new Records(store);
        this.metrics = metrics;
        this.synced = synced;
        this.heartbeatMillis = Math.max(10, heartbeat.toMillis());
        this.idleTimeoutNanos = idleTimeout.toNanos();
    }

    String primary() {
        return primary;
    }

    State state() {
        return state;
    }

    void start() {
        context.runOnContext(ignored -> {
            heartbeatTimer = vertx.setPeriodic(Math.max(1, heartbeatMillis / 4), id -> heartbeat());
            connect();
        });
    }

    /*
     * Heartbeats: every heartbeat interval the replica acknowledges its offset whether or not
     * frames came, and the primary sends a heartbeat frame when it sent nothing else; each side
     * closes a connection that brought nothing for the idle timeout. A half-open connection (the
     * primary paused, or a partition that drops packets) is then noticed within the idle timeout,
     * the link reconnects, and the router sees it is not streaming.
     */
    private void heartbeat() {
        WebSocket ws = socket;
        if (ws == null || stopped) {
            return;
        }
        if (System.nanoTime() - lastHeardNanos > idleTimeoutNanos) {
            LOG.warnf(
                    "replication from %s: nothing heard for %d ms; closing the connection and reconnecting",
                    primary, idleTimeoutNanos / 1_000_000);
            socket = null;
            ws.close();
            retry("the connection went silent");
            return;
        }
        long now = System.nanoTime();
        if (now - lastAckNanos >= heartbeatMillis * 1_000_000L) {
            lastAckNanos = now;
            ws.writeBinaryMessage(
                    Buffer.buffer(9).appendByte(PrimarySession.ACK).appendLong(log.offset()));
        }
    }

    /**
     * Stops for good (the map changed); safe from any thread. When it returns no record is being
     * applied and none will be: the caller may then let the store's changes start a stream of
     * their own.
     */
    void stop() {
        synchronized (applying) {
            stopped = true;
            state = State.STOPPED;
        }
        context.runOnContext(ignored -> {
            if (heartbeatTimer >= 0) {
                vertx.cancelTimer(heartbeatTimer);
            }
            if (socket != null) {
                socket.close();
            }
        });
    }

    private void connect() {
        if (stopped) {
            return;
        }
        state = State.CONNECTING;
        records.reset();
        snapshotRecords.reset();
        int colon = primary.lastIndexOf(':');
        WebSocketConnectOptions options = new WebSocketConnectOptions()
                .setHost(primary.substring(0, colon))
                .setPort(Integer.parseInt(primary.substring(colon + 1)))
                .setURI("/_internal/replication")
                .setConnectTimeout(1000)
                .putHeader("Authorization", authorization.get())
                .putHeader(Handshake.EPOCH, Long.toString(epoch.getAsLong()))
                .putHeader(Handshake.VERSION, Integer.toString(Handshake.PROTOCOL_VERSION))
                .putHeader(Handshake.REPLICATION_ID, log.replicationId())
                .putHeader(Handshake.OFFSET, Long.toString(log.offset()))
                .putHeader(Handshake.REPLICA, self);
        client.connect(options).onComplete(result -> {
            if (result.failed()) {
                retry("cannot connect: " + result.cause().getMessage());
                return;
            }
            WebSocket ws = result.result();
            if (stopped) {
                ws.close();
                return;
            }
            socket = ws;
            lastHeardNanos = System.nanoTime();
            ws.textMessageHandler(text -> {
                if (socket == ws) {
                    lastHeardNanos = System.nanoTime();
                    onHandshake(text);
                }
            });
            ws.binaryMessageHandler(frame -> {
                if (socket == ws) {
                    lastHeardNanos = System.nanoTime();
                    onFrame(frame);
                }
            });
            ws.exceptionHandler(e -> LOG.debugf("replication from %s: %s", primary, e.toString()));
            ws.closeHandler(ignored -> {
                if (socket != ws) {
                    return; // already given up on (went silent)
                }
                socket = null;
                Short code = ws.closeStatusCode();
                retry(
                        code != null && code == PrimarySession.CLOSE_OVERRUN
                                ? "fell behind the primary's backlog"
                                : "the stream closed" + (ws.closeReason() == null ? "" : ": " + ws.closeReason()));
            });
        });
    }

    private void retry(String why) {
        if (stopped) {
            return;
        }
        state = State.CONNECTING;
        LOG.debugf("replication from %s: %s; retrying in %d ms", primary, why, backoffMillis);
        vertx.setTimer(backoffMillis, ignored -> connect());
        backoffMillis = Math.min(MAX_BACKOFF_MILLIS, backoffMillis * 2);
    }

    private void onHandshake(String text) {
        synchronized (applying) {
            if (!stopped) {
                handshake(text);
            }
        }
    }

    private void handshake(String text) {
        JsonNode handshake;
        try {
            handshake = JSON.readTree(text);
        } catch (Exception e) {
            LOG.warnf("replication from %s: bad handshake %s", primary, text);
            socket.close();
            return;
        }
        int version = handshake.path("version").asInt(0);
        if (!Handshake.supported(version)) {
            LOG.warnf(
                    "replica of %s: the primary speaks replication protocol version %d, this node %d; retrying",
                    primary, version, Handshake.PROTOCOL_VERSION);
            socket.close();
            return;
        }
        long primaryEpoch = handshake.path("epoch").asLong(-1);
        if (primaryEpoch < epoch.getAsLong()) {
            // Fencing: a primary that has not seen this node's map may have been deposed.
            LOG.warnf(
                    "replica of %s: refusing its stream, its epoch %d is older than this node's %d",
                    primary, primaryEpoch, epoch.getAsLong());
            socket.close();
            return;
        }
        String mode = handshake.path("mode").asText();
        String id = handshake.path("id").asText();
        long offset = handshake.path("offset").asLong();
        backoffMillis = MIN_BACKOFF_MILLIS;
        if ("full".equals(mode)) {
            // Until the snapshot ends this node holds no complete history: it says so (no
            // history, not synced, offset 0 in its status), so it is never promoted as if it
            // held the primary's data. The stream that arrives meanwhile is applied and kept,
            // numbered from the primary's offset.
            state = State.SYNCING;
            synced.set(false);
            store.clear();
            log.reset(ReplicationLog.NO_HISTORY, offset);
            syncing = id;
            metrics.fullSyncReceived();
            LOG.infof("replica of %s: full sync from offset %d (this node's data is replaced)", primary, offset);
        } else {
            log.adopt(id, handshake.path("previousId").asText());
            state = State.STREAMING;
            synced.set(true);
            metrics.partialSyncReceived();
            LOG.infof("replica of %s: continuing from offset %d (partial sync)", primary, log.offset());
        }
    }

    private void onFrame(Buffer frame) {
        synchronized (applying) {
            if (!stopped) {
                apply(frame);
            }
        }
    }

    private void apply(Buffer frame) {
        byte type = frame.getByte(0);
        switch (type) {
            case PrimarySession.SNAPSHOT -> snapshotRecords.apply(frame.getBytes(1, frame.length()), null);
            case PrimarySession.SNAPSHOT_END -> {
                log.name(syncing);
                state = State.STREAMING;
                synced.set(true);
                LOG.infof(
                        "replica of %s: snapshot applied; in sync at offset %d of history %s",
                        primary, log.offset(), syncing);
            }
            case PrimarySession.MARKS -> {
                int slot = frame.getInt(1);
                boolean overflowed = frame.getByte(5) != 0;
                long[] hashes = new long[frame.getInt(6)];
                for (int i = 0; i < hashes.length; i++) {
                    hashes[i] = frame.getLong(10 + i * Long.BYTES);
                }
                marks.restore(slot, overflowed, hashes);
            }
            case PrimarySession.HEARTBEAT -> {
                // Only proof of life: the offset it carries is the primary's, not this node's.
            }
            case PrimarySession.STREAM -> {
                long from = frame.getLong(1);
                long expected = log.offset() + records.pendingBytes();
                if (from != expected) {
                    LOG.warnf("replica of %s: stream resumed at %d, expected %d; resyncing", primary, from, expected);
                    socket.close();
                    return;
                }
                try {
                    records.apply(frame.getBytes(9, frame.length()), log);
                } catch (IllegalStateException corrupt) {
                    // The stream does not fit what this node holds (it is not a record boundary
                    // here): continuing from this offset again would meet the same bytes. Asking
                    // with no history makes the next sync a full one.
                    LOG.warnf(
                            "replica of %s: %s at offset %d; a full sync follows",
                            primary, corrupt.getMessage(), expected);
                    synced.set(false);
                    log.reset(ReplicationLog.NO_HISTORY, log.offset());
                    socket.close();
                    return;
                }
                lastAckNanos = System.nanoTime();
                socket.writeBinaryMessage(
                        Buffer.buffer(9).appendByte(PrimarySession.ACK).appendLong(log.offset()));
            }
            default -> {
                LOG.warnf("replica of %s: unknown frame type %d; resyncing", primary, type);
                socket.close();
            }
        }
    }
}
