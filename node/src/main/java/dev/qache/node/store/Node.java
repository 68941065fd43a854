package dev.qache.node.store;

import org.jspecify.annotations.Nullable;

/**
 * One entry, threaded through three structures of its {@link Segment}: a hash chain, the LRU list
 * and (when it expires) the expiry heap. All fields are guarded by the segment's lock.
 *
 * <p>The node stores no hash: chains are short (load factor 0.75), so comparing keys directly is
 * cheap, and a resize recomputes hashes instead of paying 4 bytes per entry for them.
 */
final class Node {

    final byte[] key;

    byte[] value;

    /** Absolute expiry, or {@link Store#NO_EXPIRY}. Non-zero exactly when {@code heapIndex >= 0}. */
    long expireAtMillis;

    /** Low 32 bits of the clock at the last write or read; compared as an unsigned age. */
    int accessStamp;

    /** Position in the segment's expiry heap, or -1 when the entry never expires. */
    int heapIndex = -1;

    @Nullable
    Node chainNext;

    /** Next node toward the least recently used end; the segment's sentinel closes the ring. */
    Node older;

    /** Next node toward the most recently used end. */
    Node newer;

    Node(byte[] key, byte[] value) {
        this.key = key;
        this.value = value;
    }
}
