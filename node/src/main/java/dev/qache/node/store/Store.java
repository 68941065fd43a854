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
 * <p>Keys and values are passed by reference and must not be modified by the caller afterwards;
 * values returned are shared and must not be modified either.
 */
public interface Store {

    /** Expiry time meaning "never expires". */
    long NO_EXPIRY = 0L;

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
    PutResult put(byte[] key, byte[] value, long expireAtMillis);

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
