package dev.qache.node.replication;

import dev.qache.node.store.Store;
import io.vertx.core.Context;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * The primary's end of one replica's stream, on the event loop of the replica's connection.
 *
 * <p>Frames, primary to replica: the handshake as text ({@code {"mode":..,"id":..,"offset":..}}),
 * then binary: {@code 'S' records} (a snapshot chunk), {@code 'E' offset} (the snapshot ended; the
 * stream continues from that offset), {@code 'L' offset bytes} (the stream's bytes from that
 * offset). Replica to primary: {@code 'A' offset} (applied up to there). The stream is sent as
 * soon as records are appended: the log wakes this session, which then sends what has
 * accumulated, so under load frames carry many records.
 */
final class PrimarySession {

    private static final Logger LOG = Logger.getLogger(PrimarySession.class);

    static final byte SNAPSHOT = 'S';
    static final byte SNAPSHOT_END = 'E';
    static final byte STREAM = (byte) 'L';
    static final byte ACK = 'A';

    /** Close codes a replica acts on. */
    static final short CLOSE_OVERRUN = 4000;

    static final short CLOSE_DEPOSED = 4001;

    private static final int MAX_FRAME_BYTES = 256 * 1024;
    private static final int SCAN_BATCH = 64;
    private static final int FRAMES_PER_TURN = 16;

    private final ServerWebSocket socket;
    private final Context context;
    private final ReplicationLog log;
    private final Store store;
    private final String replica;
    private final ReplicationMetrics metrics;
    private final Consumer<PrimarySession> onClose;
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final Runnable wake = this::wake;

    /** (end offset, nanoTime its oldest record was waiting from) of frames not yet acknowledged. */
    private final ArrayDeque<long[]> unacknowledged = new ArrayDeque<>();

    private volatile long waitingSinceNanos;
    private long sent;
    private volatile long acknowledged;
    private long scanCursor = Store.SCAN_DONE;
    private boolean closed;

    PrimarySession(
            ServerWebSocket socket,
            Context context,
            ReplicationLog log,
            Store store,
            String replica,
            ReplicationMetrics metrics,
            Consumer<PrimarySession> onClose) {
        this.socket = socket;
        this.context = context;
        this.log = log;
        this.store = store;
        this.replica = replica;
        this.metrics = metrics;
        this.onClose = onClose;
    }

    String replica() {
        return replica;
    }

    long acknowledged() {
        return acknowledged;
    }

    /** Bytes of the stream the replica has not acknowledged yet. */
    long lagBytes() {
        return Math.max(0, log.offset() - acknowledged);
    }

    boolean syncing() {
        return scanCursor != Store.SCAN_DONE;
    }

    /** Starts streaming: a partial sync from {@code from}, or a full sync when {@code full}. */
    void start(boolean full, long from, long epoch) {
        socket.binaryMessageHandler(this::onAck);
        socket.closeHandler(ignored -> stop());
        socket.exceptionHandler(e -> {
            LOG.debugf("replication to %s: %s", replica, e.toString());
            socket.close();
        });
        log.onAppend(wake);
        // Taken after registering, so no record appended from here on is missed.
        String id = log.replicationId();
        long offset = full ? log.offset() : from;
        sent = offset;
        acknowledged = full ? 0 : from;
        if (full) {
            scanCursor = Store.SCAN_START;
            metrics.fullSyncServed();
            LOG.infof("replica %s: full sync started (snapshot, then the stream from offset %d)", replica, offset);
        } else {
            metrics.partialSyncServed();
            LOG.infof("replica %s: continuing the stream from offset %d (partial sync)", replica, offset);
        }
        socket.writeTextMessage("{\"mode\":\"" + (full ? "full" : "partial") + "\",\"id\":\"" + id
                + "\",\"previousId\":\"" + log.previousId() + "\",\"offset\":" + offset + ",\"epoch\":" + epoch + "}");
        waitingSinceNanos = System.nanoTime();
        pump();
    }

    /** Called by the log, from any thread, under store locks: schedule one pump. */
    private void wake() {
        if (scheduled.compareAndSet(false, true)) {
            waitingSinceNanos = System.nanoTime();
            context.runOnContext(ignored -> pump());
        }
    }

    private void pump() {
        scheduled.set(false);
        if (closed) {
            return;
        }
        for (int frames = 0; frames < FRAMES_PER_TURN; frames++) {
            if (socket.writeQueueFull()) {
                socket.drainHandler(ignored -> pump());
                return;
            }
            if (scanCursor != Store.SCAN_DONE) {
                sendSnapshotChunk();
                continue;
            }
            byte[] chunk;
            try {
                chunk = log.read(sent, MAX_FRAME_BYTES);
            } catch (ReplicationLog.BacklogOverrunException e) {
                LOG.warnf("replica %s fell behind the backlog (%s): it will do a full sync", replica, e.getMessage());
                socket.close(CLOSE_OVERRUN, "fell behind the backlog");
                stop();
                return;
            }
            if (chunk.length == 0) {
                return;
            }
            socket.writeBinaryMessage(Buffer.buffer(1 + 8 + chunk.length)
                    .appendByte(STREAM)
                    .appendLong(sent)
                    .appendBytes(chunk));
            sent += chunk.length;
            unacknowledged.add(new long[] {sent, waitingSinceNanos});
            waitingSinceNanos = System.nanoTime();
        }
        // More may be waiting: yield to the event loop's other work, then go on.
        if (scheduled.compareAndSet(false, true)) {
            context.runOnContext(ignored -> pump());
        }
    }

    private void sendSnapshotChunk() {
        Buffer frame = Buffer.buffer(MAX_FRAME_BYTES + 1024).appendByte(SNAPSHOT);
        while (scanCursor != Store.SCAN_DONE && frame.length() < MAX_FRAME_BYTES) {
            scanCursor =
                    store.scan(scanCursor, SCAN_BATCH, (entry, expireAt) -> Records.encodeSet(entry, expireAt, frame));
        }
        socket.writeBinaryMessage(frame);
        if (scanCursor == Store.SCAN_DONE) {
            socket.writeBinaryMessage(Buffer.buffer(9).appendByte(SNAPSHOT_END).appendLong(sent));
            LOG.infof("replica %s: snapshot sent; streaming from offset %d", replica, sent);
        }
    }

    private void onAck(Buffer message) {
        if (message.length() != 9 || message.getByte(0) != ACK) {
            LOG.warnf("replica %s sent a malformed acknowledgement; closing", replica);
            socket.close();
            return;
        }
        long offset = message.getLong(1);
        acknowledged = offset;
        long now = System.nanoTime();
        while (!unacknowledged.isEmpty() && unacknowledged.peekFirst()[0] <= offset) {
            metrics.lag(now - unacknowledged.pollFirst()[1]);
        }
    }

    /** Ends the stream, telling the replica why with a close code. */
    void close(short code, String reason) {
        context.runOnContext(ignored -> {
            if (!closed) {
                socket.close(code, reason);
                stop();
            }
        });
    }

    private void stop() {
        if (!closed) {
            closed = true;
            log.removeOnAppend(wake);
            onClose.accept(this);
        }
    }
}
