package dev.qache.node.store;

import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * One entry of a {@link Segment}: in a hash chain, in the LRU ring and (when it expires) in the
 * expiry heap. All fields are guarded by the segment's lock.
 *
 * <p>Key and value share one array, {@code [key length][key bytes][value bytes]}, which saves an
 * array header, its padding and a reference per entry. The LRU links are slot numbers (ints), not
 * references: a read moves its node to the front of the ring, and with int links that touches no
 * reference field, so it pays no garbage-collector write barrier (with G1, those barriers on
 * reference stores into old objects halved read throughput).
 */
final class Node {

    /** {@code [key length (unsigned byte)][key][value]}; replaced whole when the value changes. */
    byte[] data;

    @Nullable
    Node chainNext;

    /** Absolute expiry, or {@link Store#NO_EXPIRY}. Non-zero exactly when {@code heapIndex >= 0}. */
    long expireAtMillis;

    /** Low 32 bits of the clock at the last write or read; compared as an unsigned age. */
    int accessStamp;

    /** Position in the segment's expiry heap, or -1 when the entry never expires. */
    int heapIndex = -1;

    /** This node's index in the segment's dense node array; 0 is the LRU sentinel. */
    int slot;

    /** Slot of the next node toward the least recently used end (0: the sentinel). */
    int older;

    /** Slot of the next node toward the most recently used end (0: the sentinel). */
    int newer;

    Node(byte[] data) {
        this.data = data;
    }

    static byte[] data(byte[] key, byte[] value, int valueOffset, int valueLength) {
        byte[] data = new byte[1 + key.length + valueLength];
        data[0] = (byte) key.length;
        System.arraycopy(key, 0, data, 1, key.length);
        System.arraycopy(value, valueOffset, data, 1 + key.length, valueLength);
        return data;
    }

    int keyLength() {
        return data[0] & 0xFF;
    }

    int valueOffset() {
        return 1 + keyLength();
    }

    int valueLength() {
        return data.length - valueOffset();
    }

    boolean hasKey(byte[] key) {
        int length = keyLength();
        return length == key.length && Arrays.equals(data, 1, 1 + length, key, 0, length);
    }

    long keyHash() {
        return KeyHash.of(data, 1, keyLength());
    }

    byte[] key() {
        return Arrays.copyOfRange(data, 1, 1 + keyLength());
    }
}
