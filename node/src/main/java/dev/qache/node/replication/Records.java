package dev.qache.node.replication;

import dev.qache.node.store.PutResult;
import dev.qache.node.store.Store;
import java.util.Arrays;

/**
 * Reads the records of {@link ReplicationLog}'s format from chunks that may end in the middle of a
 * record, and applies them to a store. Not thread-safe: one per replication link.
 */
public final class Records {

    private final Store store;
    private final SetConsumer putOrDrop = this::putOrDrop;
    private byte[] pending = new byte[0];

    Records(Store store) {
        this.store = store;
    }

    /** Length of the record at {@code at}, or -1 when fewer than its bytes are available. */
    static int recordLength(byte[] b, int at, int available) {
        if (available < 2) {
            return -1;
        }
        int length = switch (b[at]) {
            case ReplicationLog.SET ->
                available < ReplicationLog.SET_HEADER
                        ? -1
                        : ReplicationLog.SET_HEADER + ReplicationLog.getInt(b, at + 9);
            case ReplicationLog.DEL -> 2 + (b[at + 1] & 0xFF);
            default -> throw new IllegalStateException("corrupt replication stream: record type " + b[at]);
        };
        return length <= available ? length : -1;
    }

    /**
     * Applies every complete record of {@code chunk}, after whatever the previous chunk left
     * unfinished, and hands the complete records' bytes to {@code complete} (the replica's log);
     * returns how many bytes of records were completed.
     */
    int apply(byte[] chunk, ReplicationLog complete) {
        byte[] data = chunk;
        if (pending.length > 0) {
            data = Arrays.copyOf(pending, pending.length + chunk.length);
            System.arraycopy(chunk, 0, data, pending.length, chunk.length);
        }
        int position = 0;
        int length;
        while ((length = recordLength(data, position, data.length - position)) > 0) {
            applyOne(data, position);
            position += length;
        }
        if (complete != null && position > 0) {
            complete.appendRecords(data, 0, position);
        }
        pending = position == data.length ? new byte[0] : Arrays.copyOfRange(data, position, data.length);
        return position;
    }

    /** Bytes of an unfinished record carried over to the next chunk. */
    int pendingBytes() {
        return pending.length;
    }

    void reset() {
        pending = new byte[0];
    }

    private void applyOne(byte[] b, int at) {
        if (b[at] == ReplicationLog.SET) {
            readSet(b, at, putOrDrop);
        } else {
            int keyLength = b[at + 1] & 0xFF;
            store.delete(Arrays.copyOfRange(b, at + 2, at + 2 + keyLength));
        }
    }

    private void putOrDrop(byte[] key, byte[] records, int valueOffset, int valueLength, long expireAtMillis) {
        if (store.put(key, records, valueOffset, valueLength, expireAtMillis) != PutResult.STORED) {
            // No room on this replica: better a miss than the key's previous value.
            store.delete(key);
        }
    }

    /** Receives the parts of one SET record: its key, and where its value lies in {@code records}. */
    @FunctionalInterface
    public interface SetConsumer {
        void accept(byte[] key, byte[] records, int valueOffset, int valueLength, long expireAtMillis);
    }

    /** Calls {@code consumer} for each record of a run of whole SET records (a snapshot, a slot's export). */
    public static void forEachSet(byte[] records, SetConsumer consumer) {
        int at = 0;
        while (at + ReplicationLog.SET_HEADER <= records.length) {
            at = readSet(records, at, consumer);
        }
    }

    /** Reads the SET record at {@code at}; returns where the next record starts. */
    private static int readSet(byte[] b, int at, SetConsumer consumer) {
        long expireAt = ReplicationLog.getLong(b, at + 1);
        int entryLength = ReplicationLog.getInt(b, at + 9);
        int entry = at + ReplicationLog.SET_HEADER;
        int keyLength = b[entry] & 0xFF;
        byte[] key = Arrays.copyOfRange(b, entry + 1, entry + 1 + keyLength);
        int valueOffset = entry + 1 + keyLength;
        consumer.accept(key, b, valueOffset, entry + entryLength - valueOffset, expireAt);
        return entry + entryLength;
    }

    /** Encodes entries as SET records into one array of exactly their size: a slot's export chunk. */
    public static byte[] encodeSets(java.util.List<byte[]> entries, java.util.List<Long> expiries) {
        int size = 0;
        for (byte[] entry : entries) {
            size += ReplicationLog.SET_HEADER + entry.length;
        }
        byte[] out = new byte[size];
        java.nio.ByteBuffer at = java.nio.ByteBuffer.wrap(out);
        for (int i = 0; i < entries.size(); i++) {
            byte[] entry = entries.get(i);
            at.put(ReplicationLog.SET)
                    .putLong(expiries.get(i))
                    .putInt(entry.length)
                    .put(entry);
        }
        return out;
    }

    /** Encodes one entry as a SET record, for a snapshot or a slot's export. */
    public static void encodeSet(byte[] entry, long expireAtMillis, io.vertx.core.buffer.Buffer out) {
        out.appendByte(ReplicationLog.SET)
                .appendLong(expireAtMillis)
                .appendInt(entry.length)
                .appendBytes(entry);
    }
}
