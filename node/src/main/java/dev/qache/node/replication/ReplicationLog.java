package dev.qache.node.replication;

import dev.qache.node.store.ChangeListener;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The replication stream and its bounded backlog: every change a primary makes, as records
 * numbered by byte offset, kept in a ring of {@code capacity} bytes so a replica that reconnects
 * can continue from where it stopped.
 *
 * <p>On a primary the store tells this log of each change ({@link ChangeListener}) under the lock
 * of the key's segment, so for every key the records are in the order the changes were made. On a
 * replica the store's listener is off (its own expiries and evictions are not part of the
 * primary's stream); the replica appends the primary's records verbatim ({@link #appendRecords}),
 * so its offsets stay those of the primary, and it can serve the same stream if it is promoted.
 *
 * <p>A history is named by a replication id. Promotion starts a new one and remembers the old id
 * and where it ended, so replicas of the old primary can continue from the promoted one's backlog
 * without a full sync (as Redis' PSYNC2 does).
 *
 * <p>Record format, big-endian: {@code SET = [1][expireAtMillis:8][length:4][entry]} and {@code
 * DEL = [2][keyLength:1][key]}, where {@code entry} is the store's {@code
 * [keyLength:1][key][value]}.
 */
public final class ReplicationLog implements ChangeListener {

    static final byte SET = 1;
    static final byte DEL = 2;
    static final int SET_HEADER = 1 + 8 + 4;

    /** The replication id of a log that holds no complete history (a replica in a full sync). */
    public static final String NO_HISTORY = "";

    /**
     * The ring, in chunks of {@link #CHUNK} bytes (the last may be shorter), so a backlog may be
     * larger than one array can be; byte {@code i} of the ring is {@code chunks[i / CHUNK][i % CHUNK]}.
     */
    private final byte[][] chunks;

    private final long capacity;

    static final int CHUNK = 1 << 20;
    private final List<Runnable> tails = new CopyOnWriteArrayList<>();

    /** Offset of the oldest byte kept; guarded by this. */
    private long start;

    /** Offset after the newest byte: the replication offset. Guarded by this. */
    private long end;

    private String replicationId;
    private String previousId = "";
    private long previousEnd = -1;

    /** Header scratch for SET records; guarded by this. */
    private final byte[] header = new byte[SET_HEADER];

    public ReplicationLog(long capacity) {
        if (capacity < 1024) {
            throw new IllegalArgumentException("backlog must be at least 1 KiB: " + capacity);
        }
        this.capacity = capacity;
        int count = (int) ((capacity + CHUNK - 1) / CHUNK);
        this.chunks = new byte[count][];
        for (int i = 0; i < count; i++) {
            chunks[i] = new byte[(int) Math.min(CHUNK, capacity - (long) i * CHUNK)];
        }
        this.replicationId = newId();
    }

    static String newId() {
        byte[] random = new byte[10];
        new SecureRandom().nextBytes(random);
        return HexFormat.of().formatHex(random);
    }

    /** The backlog's size in bytes: memory this node holds for it whatever its role. */
    public long capacity() {
        return capacity;
    }

    /** Called with each batch of new records; must be quick (it runs under store locks). */
    public void onAppend(Runnable tail) {
        tails.add(tail);
    }

    public void removeOnAppend(Runnable tail) {
        tails.remove(tail);
    }

    @Override
    public void stored(byte[] entry, long expireAtMillis) {
        synchronized (this) {
            header[0] = SET;
            putLong(header, 1, expireAtMillis);
            putInt(header, 9, entry.length);
            write(header, 0, SET_HEADER);
            write(entry, 0, entry.length);
        }
        wakeTails();
    }

    @Override
    public void removed(byte[] entry) {
        synchronized (this) {
            header[0] = DEL;
            write(header, 0, 1);
            write(entry, 0, 1 + (entry[0] & 0xFF));
        }
        wakeTails();
    }

    @Override
    public void deletedAbsent(byte[] key) {
        synchronized (this) {
            header[0] = DEL;
            header[1] = (byte) key.length;
            write(header, 0, 2);
            write(key, 0, key.length);
        }
        wakeTails();
    }

    /** On a replica: appends whole records received from the primary, exactly as received. */
    public void appendRecords(byte[] records, int offset, int length) {
        synchronized (this) {
            write(records, offset, length);
        }
    }

    private void wakeTails() {
        for (Runnable tail : tails) {
            tail.run();
        }
    }

    public synchronized long offset() {
        return end;
    }

    public synchronized long startOffset() {
        return start;
    }

    public synchronized String replicationId() {
        return replicationId;
    }

    /**
     * Copies up to {@code maxBytes} of the stream from offset {@code from}; an empty array when
     * nothing follows it yet.
     *
     * @throws BacklogOverrunException when {@code from} is no longer in the backlog
     */
    public synchronized byte[] read(long from, int maxBytes) {
        if (from < start) {
            throw new BacklogOverrunException(from, start);
        }
        if (from > end) {
            throw new IllegalArgumentException("offset " + from + " is ahead of the stream's " + end);
        }
        int length = (int) Math.min(maxBytes, end - from);
        byte[] out = new byte[length];
        copy(from, out, 0, length, false);
        return out;
    }

    /**
     * Whether a replica that has the stream of {@code id} up to {@code offset} can continue from
     * this backlog without a full sync.
     */
    public synchronized boolean canContinue(String id, long offset) {
        boolean sameHistory = id.equals(replicationId) || (id.equals(previousId) && offset <= previousEnd);
        return sameHistory && offset >= start && offset <= end;
    }

    /** After a full sync from a primary: the stream of {@code id} continues from {@code offset}. */
    public synchronized void reset(String id, long offset) {
        replicationId = id;
        previousId = "";
        previousEnd = -1;
        start = offset;
        end = offset;
    }

    /** Partial sync with a primary that continues {@code id} (a promoted one may have a new id). */
    public synchronized void adopt(String id, String formerId) {
        if (!id.equals(replicationId)) {
            previousId = formerId;
            previousEnd = end;
            replicationId = id;
        }
    }

    /**
     * Leaving the map: this node drops what it held outside the stream, so its data is no
     * longer the state of any history at any offset. It continues none, and no replica continues
     * from it: the next sync either way is a full one.
     */
    public synchronized void forgetHistory() {
        replicationId = newId();
        previousId = "";
        previousEnd = -1;
        start = end;
    }

    /** On promotion: a new history begins where this one ends. */
    public synchronized void startNewHistory() {
        previousId = replicationId;
        previousEnd = end;
        replicationId = newId();
    }

    public synchronized String previousId() {
        return previousId;
    }

    /** Where the previous history ended (-1 when there is none). */
    public synchronized long previousEnd() {
        return previousEnd;
    }

    /**
     * At the end of a full sync's snapshot: the records appended since the sync began (the
     * primary's stream, from the offset its handshake named) are history {@code id}.
     */
    public synchronized void name(String id) {
        replicationId = id;
    }

    private void write(byte[] source, int offset, int length) {
        if (length >= capacity) {
            // A record as large as the whole backlog: only its tail fits; no replica can continue
            // from before it, which is what start says.
            int skip = (int) (length - capacity);
            offset += skip;
            end += skip;
            length -= skip;
        }
        copy(end, source, offset, length, true);
        end += length;
        start = Math.max(start, end - capacity);
    }

    /**
     * Copies {@code length} bytes between the ring, from stream offset {@code at}, and {@code
     * bytes[offset..]}: into the ring when {@code in}, out of it otherwise; wraps and crosses chunks.
     */
    private void copy(long at, byte[] bytes, int offset, int length, boolean in) {
        long position = at % capacity;
        while (length > 0) {
            byte[] chunk = chunks[(int) (position / CHUNK)];
            int within = (int) (position % CHUNK);
            int n = Math.min(length, chunk.length - within);
            if (in) {
                System.arraycopy(bytes, offset, chunk, within, n);
            } else {
                System.arraycopy(chunk, within, bytes, offset, n);
            }
            offset += n;
            length -= n;
            position = (position + n) % capacity;
        }
    }

    static void putLong(byte[] b, int at, long v) {
        for (int i = 7; i >= 0; i--) {
            b[at + i] = (byte) v;
            v >>>= 8;
        }
    }

    static void putInt(byte[] b, int at, int v) {
        for (int i = 3; i >= 0; i--) {
            b[at + i] = (byte) v;
            v >>>= 8;
        }
    }

    static long getLong(byte[] b, int at) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (b[at + i] & 0xFF);
        }
        return v;
    }

    static int getInt(byte[] b, int at) {
        int v = 0;
        for (int i = 0; i < 4; i++) {
            v = (v << 8) | (b[at + i] & 0xFF);
        }
        return v;
    }

    /** Thrown when a reader asks for bytes the backlog has already overwritten. */
    public static final class BacklogOverrunException extends RuntimeException {
        BacklogOverrunException(long from, long start) {
            super("offset " + from + " has left the backlog, which starts at " + start);
        }
    }
}
