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
 * <p>Frames, primary to replica: the handshake as text ({@code {"version":..,"mode":..,"id":..,
 * "offset":..}}), then binary: {@code 'S' records} (a snapshot chunk), {@code 'E' offset} (the
 * snapshot ended), {@code 'L' offset bytes} (the stream's bytes from that offset), {@code 'H'
 * offset} (a heartbeat, sent when nothing else was for a heartbeat interval), and, at the start of
 * a full sync to a replica of protocol 3 or more, {@code 'M' slot overflowed count hashes} (one
 * importing slot's marks, {@link ImportMarks}; a slot with many takes several). Replica to primary:
 * {@code 'A' offset} (applied up to there), at least every heartbeat interval. Either side closes a
 * connection that brought nothing for the idle timeout.
 */
/*
 * A full sync, step by step:
 *  1. The handshake names the offset the stream continues from (the log's end now).
 *  2. From then on, every turn copies what the log gained into this session's own buffer first,
 *     so the log's ring may wrap during a long snapshot without losing what this replica needs;
 *     the buffer is bounded (qache.replication.sync-buffer-size, as Redis bounds a replica's
 *     output buffer) and a replica that lets it fill is disconnected and starts over.
 *  3. The buffered stream is sent ahead of snapshot chunks, so it never waits behind the scan;
 *     the snapshot goes out with what the socket has left. The replica applies both in the order
 *     they arrive: each chunk shows its entries as of when it was scanned, and every change made
 *     after that follows it on the wire, so the replica converges on the primary's state.
 *  4. 'E' ends the snapshot: only then does the replica name its log by the primary's history and
 *     report itself in sync, with the offset it has actually applied.
 */
final class PrimarySession {

    private static final Logger LOG = Logger.getLogger(PrimarySession.class);

    static final byte SNAPSHOT = 'S';
    static final byte SNAPSHOT_END = 'E';
    static final byte STREAM = (byte) 'L';
    static final byte HEARTBEAT = 'H';
    static final byte ACK = 'A';
    static final byte MARKS = 'M';

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
    private final long bufferLimitBytes;
    private final long heartbeatNanos;
    private final long idleTimeoutNanos;

    /** (end offset, nanoTime its oldest record was waiting from) of frames not yet acknowledged. */
    private final ArrayDeque<long[]> unacknowledged = new ArrayDeque<>();

    /** Stream frames copied out of the log and not yet written to the socket, oldest first. */
    private final ArrayDeque<Buffer> buffered = new ArrayDeque<>();

    /** Bytes held in {@link #buffered}; at most {@link #bufferLimitBytes}. */
    private volatile long bufferedBytes;

    private volatile long waitingSinceNanos;

    /** Offset up to which the stream has been copied out of the log (into buffered, or sent). */
    private long copied;

    private volatile long acknowledged;
    private long scanCursor = Store.SCAN_DONE;
    private boolean closed;
    private long lastSentNanos;
    private long lastHeardNanos;
    private long timer = -1;

    PrimarySession(
            ServerWebSocket socket,
            Context context,
            ReplicationLog log,
            Store store,
            String replica,
            ReplicationMetrics metrics,
            Consumer<PrimarySession> onClose,
            long bufferLimitBytes,
            java.time.Duration heartbeat,
            java.time.Duration idleTimeout) {
        this.socket = socket;
        this.context = context;
        this.log = log;
        this.store = store;
        this.replica = replica;
        this.metrics = metrics;
        this.onClose = onClose;
        this.bufferLimitBytes = bufferLimitBytes;
        this.heartbeatNanos = heartbeat.toNanos();
        this.idleTimeoutNanos = idleTimeout.toNanos();
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

    /** Bytes of stream waiting in this session's own buffer (during a full sync, mostly). */
    long bufferedBytes() {
        return bufferedBytes;
    }

    /** Starts streaming: a partial sync from {@code from}, or a full sync when {@code full}. */
    void start(boolean full, long from, long epoch, ImportMarks marks) {
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
        copied = offset;
        acknowledged = full ? 0 : from;
        if (full) {
            scanCursor = Store.SCAN_START;
            metrics.fullSyncServed();
            LOG.infof(
                    "replica %s: full sync started (snapshot, with the stream from offset %d alongside)",
                    replica, offset);
        } else {
            metrics.partialSyncServed();
            LOG.infof("replica %s: continuing the stream from offset %d (partial sync)", replica, offset);
        }
        socket.writeTextMessage("{\"version\":" + Handshake.PROTOCOL_VERSION + ",\"mode\":\""
                + (full ? "full" : "partial") + "\",\"id\":\"" + id + "\",\"previousId\":\"" + log.previousId()
                + "\",\"offset\":" + offset + ",\"epoch\":" + epoch + "}");
        if (full) {
            // Ahead of the snapshot: the marks as of now; removals after this reach the replica as
            // deletes in the stream (every delete, found or not, is streamed).
            marks.forEach(this::sendMarks);
        }
        lastSentNanos = System.nanoTime();
        lastHeardNanos = lastSentNanos;
        timer = context.owner().setPeriodic(Math.max(1, heartbeatNanos / 4_000_000), ignored -> heartbeat());
        waitingSinceNanos = System.nanoTime();
        pump();
    }

    private void sendMarks(int slot, boolean overflowed, long[] hashes) {
        int perFrame = (MAX_FRAME_BYTES - 10) / Long.BYTES;
        int at = 0;
        do {
            int count = Math.min(perFrame, hashes.length - at);
            Buffer frame = Buffer.buffer(10 + count * Long.BYTES)
                    .appendByte(MARKS)
                    .appendInt(slot)
                    .appendByte((byte) (overflowed ? 1 : 0))
                    .appendInt(count);
            for (int i = 0; i < count; i++) {
                frame.appendLong(hashes[at + i]);
            }
            socket.writeBinaryMessage(frame);
            at += count;
        } while (at < hashes.length);
    }

    private void heartbeat() {
        if (closed) {
            return;
        }
        long now = System.nanoTime();
        if (now - lastHeardNanos > idleTimeoutNanos) {
            LOG.warnf(
                    "replica %s: nothing heard for %d ms; closing its stream",
                    replica, (now - lastHeardNanos) / 1_000_000);
            socket.close();
            stop();
            return;
        }
        if (now - lastSentNanos >= heartbeatNanos && !socket.writeQueueFull()) {
            socket.writeBinaryMessage(Buffer.buffer(9).appendByte(HEARTBEAT).appendLong(log.offset()));
            lastSentNanos = now;
        }
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
        if (!copyFromLog()) {
            return;
        }
        for (int frames = 0; frames < FRAMES_PER_TURN; frames++) {
            if (socket.writeQueueFull()) {
                socket.drainHandler(ignored -> pump());
                return;
            }
            Buffer next = buffered.pollFirst();
            if (next != null) {
                bufferedBytes -= next.length() - 9;
                socket.writeBinaryMessage(next);
                lastSentNanos = System.nanoTime();
                unacknowledged.add(new long[] {next.getLong(1) + next.length() - 9, waitingSinceNanos});
                continue;
            }
            if (scanCursor != Store.SCAN_DONE) {
                sendSnapshotChunk();
                // The scan took a while: take what the log gained meanwhile before the next chunk.
                if (!copyFromLog()) {
                    return;
                }
                continue;
            }
            waitingSinceNanos = System.nanoTime();
            return;
        }
        // More may be waiting: yield to the event loop's other work, then go on.
        if (scheduled.compareAndSet(false, true)) {
            context.runOnContext(ignored -> pump());
        }
    }

    /**
     * Moves what the log gained since the last copy into this session's buffer; false (and the
     * stream closed) when the log overwrote it first or the buffer is full.
     */
    private boolean copyFromLog() {
        try {
            while (true) {
                byte[] chunk = log.read(copied, MAX_FRAME_BYTES);
                if (chunk.length == 0) {
                    return true;
                }
                buffered.add(Buffer.buffer(1 + 8 + chunk.length)
                        .appendByte(STREAM)
                        .appendLong(copied)
                        .appendBytes(chunk));
                copied += chunk.length;
                bufferedBytes += chunk.length;
                if (bufferedBytes > bufferLimitBytes) {
                    LOG.warnf(
                            "replica %s: %d bytes of stream wait for it, more than the sync buffer's %d;"
                                    + " disconnecting it (it will sync again)",
                            replica, bufferedBytes, bufferLimitBytes);
                    overrun("its sync buffer is full");
                    return false;
                }
            }
        } catch (ReplicationLog.BacklogOverrunException e) {
            LOG.warnf("replica %s fell behind the backlog (%s): it will do a full sync", replica, e.getMessage());
            overrun("fell behind the backlog");
            return false;
        }
    }

    private void overrun(String reason) {
        socket.close(CLOSE_OVERRUN, reason);
        stop();
    }

    private void sendSnapshotChunk() {
        Buffer frame = Buffer.buffer(MAX_FRAME_BYTES + 1024).appendByte(SNAPSHOT);
        while (scanCursor != Store.SCAN_DONE && frame.length() < MAX_FRAME_BYTES) {
            scanCursor =
                    store.scan(scanCursor, SCAN_BATCH, (entry, expireAt) -> Records.encodeSet(entry, expireAt, frame));
        }
        socket.writeBinaryMessage(frame);
        lastSentNanos = System.nanoTime();
        if (scanCursor == Store.SCAN_DONE) {
            socket.writeBinaryMessage(Buffer.buffer(9).appendByte(SNAPSHOT_END).appendLong(copied));
            LOG.infof("replica %s: snapshot sent; the stream goes on from offset %d", replica, copied);
        }
    }

    private void onAck(Buffer message) {
        lastHeardNanos = System.nanoTime();
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
            if (timer >= 0) {
                context.owner().cancelTimer(timer);
            }
            buffered.clear();
            bufferedBytes = 0;
            log.removeOnAppend(wake);
            onClose.accept(this);
        }
    }
}
