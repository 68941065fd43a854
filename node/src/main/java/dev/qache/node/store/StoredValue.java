package dev.qache.node.store;

import java.util.Arrays;

/**
 * A live value read from the store: a view of the entry's bytes, so a read copies nothing.
 *
 * @param entry the entry's shared array; the value is {@code entry[valueOffset, entry.length)};
 *     never modify it
 * @param expireAtMillis absolute expiry, or {@link Store#NO_EXPIRY}
 */
public record StoredValue(byte[] entry, int valueOffset, long expireAtMillis) {

    public int valueLength() {
        return entry.length - valueOffset;
    }

    /** A copy of the value's bytes (for tests and cold paths; the hot path writes the view). */
    public byte[] value() {
        return Arrays.copyOfRange(entry, valueOffset, entry.length);
    }

    /** Remaining lifetime rounded up to whole seconds, or -1 when the value never expires. */
    public long remainingTtlSeconds(long nowMillis) {
        if (expireAtMillis == Store.NO_EXPIRY) {
            return -1;
        }
        long remainingMillis = Math.max(0, expireAtMillis - nowMillis);
        return (remainingMillis + 999) / 1000;
    }
}
