package dev.qache.node.replication;

import dev.qache.node.store.PutResult;
import dev.qache.node.store.Store;
import java.util.Arrays;

/**
 * Reads the records of {@link ReplicationLog}'s format from chunks that may end in the middle of a
 * record, and applies them to a store. Not thread-safe: one per replication link.
 */
final class Records {

    private final Store store;
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
            long expireAt = ReplicationLog.getLong(b, at + 1);
            int entryLength = ReplicationLog.getInt(b, at + 9);
            int entry = at + ReplicationLog.SET_HEADER;
            int keyLength = b[entry] & 0xFF;
            byte[] key = Arrays.copyOfRange(b, entry + 1, entry + 1 + keyLength);
            int valueOffset = entry + 1 + keyLength;
            if (store.put(key, b, valueOffset, entry + entryLength - valueOffset, expireAt) != PutResult.STORED) {
                // No room on this replica: better a miss than the key's previous value.
                store.delete(key);
            }
        } else {
            int keyLength = b[at + 1] & 0xFF;
            store.delete(Arrays.copyOfRange(b, at + 2, at + 2 + keyLength));
        }
    }

    /** Encodes one entry as a SET record, for a snapshot. */
    static void encodeSet(byte[] entry, long expireAtMillis, io.vertx.core.buffer.Buffer out) {
        out.appendByte(ReplicationLog.SET)
                .appendLong(expireAtMillis)
                .appendInt(entry.length)
                .appendBytes(entry);
    }
}
