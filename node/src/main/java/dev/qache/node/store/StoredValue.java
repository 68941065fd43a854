package dev.qache.node.store;

/**
 * A live value read from the store.
 *
 * @param value the stored bytes, shared with the store: never modify them
 * @param expireAtMillis absolute expiry, or {@link Store#NO_EXPIRY}
 */
public record StoredValue(byte[] value, long expireAtMillis) {

    /** Remaining lifetime rounded up to whole seconds, or -1 when the value never expires. */
    public long remainingTtlSeconds(long nowMillis) {
        if (expireAtMillis == Store.NO_EXPIRY) {
            return -1;
        }
        long remainingMillis = Math.max(0, expireAtMillis - nowMillis);
        return (remainingMillis + 999) / 1000;
    }
}
