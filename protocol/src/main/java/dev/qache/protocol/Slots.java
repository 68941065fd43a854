package dev.qache.protocol;

import net.openhft.hashing.LongHashFunction;

/**
 * A key's slot: one of {@value #COUNT}, fixed for the key's life, the unit of ownership, migration
 * and progress reporting.
 *
 * <p>The slot is bits 32 to 45 of the key's XXH3 hash (seed 0), the same hash the node's store
 * uses. The store takes the top bits for its segment and the low bits for its hash bucket, so a
 * node that owns only some slots still spreads its keys evenly over segments and buckets.
 */
public final class Slots {

    public static final int COUNT = 16_384;

    private static final LongHashFunction XXH3 = LongHashFunction.xx3();

    private Slots() {}

    public static int of(byte[] key) {
        return ofHash(XXH3.hashBytes(key));
    }

    /** The slot of a key whose XXH3 hash is {@code hash}. */
    public static int ofHash(long hash) {
        return (int) (hash >>> 32) & (COUNT - 1);
    }

    /** The slot's fixed point on the 64-bit ring: slots are spaced evenly around it. */
    public static long point(int slot) {
        return (long) slot << (Long.SIZE - Integer.numberOfTrailingZeros(COUNT));
    }
}
