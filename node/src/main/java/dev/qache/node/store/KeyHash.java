package dev.qache.node.store;

import net.openhft.hashing.LongHashFunction;

/**
 * The 64-bit hash of a key: XXH3, seed 0. Segments take the high bits, hash buckets the low
 * bits, so the two are independent. The cluster's slot function uses the same hash so that a
 * key's slot can be computed on every node and on the router alike.
 */
public final class KeyHash {

    private static final LongHashFunction XXH3 = LongHashFunction.xx3();

    private KeyHash() {}

    public static long of(byte[] key) {
        return XXH3.hashBytes(key);
    }

    /** The hash of {@code key[offset, offset + length)}, equal to {@code of} of that range's copy. */
    public static long of(byte[] key, int offset, int length) {
        return XXH3.hashBytes(key, offset, length);
    }
}
