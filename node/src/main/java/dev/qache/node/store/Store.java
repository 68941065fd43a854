package dev.qache.node.store;

import org.jspecify.annotations.Nullable;

/**
 * A bounded in-memory map from byte-string keys to byte-string values, each with an optional
 * absolute expiry time.
 *
 * <p>Every operation is safe to call from any thread and never waits on I/O; at most it takes a
 * short, uncontended segment lock. The accounted memory ({@link StoreStats#usedBytes()}) never
 * exceeds the limit: a write that needs room first removes expired entries, then least recently
 * used ones, and a write that cannot fit even in an empty store is refused with nothing evicted.
 * An entry whose expiry time has passed is never returned.
 *
 * <p>Keys and values are copied in; values returned are views of the store's own bytes and must
 * not be modified.
 */
public interface Store {

    /** Expiry time meaning "never expires". */
    long NO_EXPIRY = 0L;

    /** Longest key a store accepts, in bytes (the contract's limit is 250). */
    int MAX_KEY_BYTES = 255;

    /**
     * Returns the live value of {@code key} and marks it most recently used, or {@code null} on a
     * miss. A read of an expired entry removes it and misses.
     */
    @Nullable
    StoredValue get(byte[] key);

    /**
     * Stores {@code value} under {@code key}, replacing any previous value and its expiry.
     *
     * @param expireAtMillis absolute expiry in the store clock's milliseconds, or {@link
     *     #NO_EXPIRY}; a time already past removes the key and stores nothing
     */
    default PutResult put(byte[] key, byte[] value, long expireAtMillis) {
        return put(key, value, 0, value.length, expireAtMillis);
    }

    /**
     * Stores {@code value[valueOffset, valueOffset + valueLength)} under {@code key}; the bytes are
     * copied, so the caller may reuse the array (a request body, say) afterwards.
     *
     * @see #put(byte[], byte[], long)
     */
    PutResult put(byte[] key, byte[] value, int valueOffset, int valueLength, long expireAtMillis);

    /** Removes {@code key}; returns whether a live entry was removed. */
    boolean delete(byte[] key);

    /**
     * Removes up to {@code maxEntries} entries whose expiry has passed, earliest expiry first
     * within each segment, and returns how many it removed. A result equal to {@code maxEntries}
     * means more may remain.
     */
    int removeExpired(int maxEntries);

    /** A consistent-enough snapshot of the counters; cheap enough to scrape every second. */
    StoreStats stats();

    /** The clock that expiry times are measured against. */
    Clock clock();
}
