package dev.qache.node.store;

import java.util.OptionalLong;
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

    /** Cursor value that starts a {@link #scan}. */
    long SCAN_START = 0L;

    /** Cursor value a {@link #scan} returns when it has visited every entry. */
    long SCAN_DONE = -1L;

    /**
     * Visits up to {@code maxEntries} live entries, starting at {@code cursor} ({@link #SCAN_START}
     * the first time), and returns the cursor to continue from, or {@link #SCAN_DONE}. Each call
     * holds one segment lock only while it collects references, and never blocks writers for long.
     *
     * <p>While writes go on between calls, a full scan visits every entry that was present at the
     * start and is still present at the end, at least once (possibly twice); an entry changed or
     * added meanwhile may be seen in either state or not at all. So a scan plus every change made
     * since it started, applied in order, gives the store's state: the basis of a replica's full
     * sync.
     */
    long scan(long cursor, int maxEntries, EntryVisitor visitor);

    /**
     * Visits every live entry of one cluster slot (bits 32 to 45 of the key hash), in one pass of
     * {@link #scanSlot(int, long, long, EntryVisitor)}, and returns how many it visited.
     */
    default int scanSlot(int slot, EntryVisitor visitor) {
        int[] visited = {0};
        scanSlot(slot, 0, Long.MAX_VALUE, (entry, expireAt) -> {
            visited[0]++;
            visitor.visit(entry, expireAt);
        });
        return visited[0];
    }

    /**
     * Visits, in order of their key hashes (unsigned), the live entries of one cluster slot whose
     * key hash is at least {@code fromHash}, until about {@code maxBytes} of entries are visited
     * (at least one entry, and never part of the entries sharing one hash), and returns the hash
     * to continue from, or empty once the slot is exhausted. Start with 0: a migration's chunked
     * copy. Since the order is by hash, an entry present from the first call to the last is visited
     * exactly once, whatever else changes between the calls.
     */
    OptionalLong scanSlot(int slot, long fromHash, long maxBytes, EntryVisitor visitor);

    /**
     * Whether {@code key} has an entry at all, live or expired but kept (see {@link
     * #expireLocally}); neither a read nor a use: it changes no recency and no counter.
     */
    boolean holds(byte[] key);

    /**
     * Installs the watcher told of every entry removed from now on, whatever the cause (delete,
     * expiry, eviction, a slot's drop; not {@link #clear}), under the key's segment lock.
     */
    void watchRemovals(RemovalWatcher watcher);

    /** Removes every entry of one cluster slot, telling the listener of each; returns how many. */
    int dropSlot(int slot);

    /**
     * Stores a value only if the key has no live entry: what a migration's copy does, so that it
     * never overwrites a newer write. Returns the stored entry array (to pass to {@link
     * #deleteIfSame}), or null when nothing was stored (a live entry exists, or no room).
     */
    byte @Nullable [] putIfAbsent(byte[] key, byte[] value, int valueOffset, int valueLength, long expireAtMillis);

    /** Removes the key only if its entry is still {@code entry}; returns whether it did. */
    boolean deleteIfSame(byte[] key, byte[] entry);

    /**
     * Whether expired entries are removed by this store's own clock (lazily on read, and by
     * {@link #removeExpired}): true by default. A replica turns it off: an expired entry then
     * reads as a miss but stays, and a write whose expiry has passed is kept hidden, until the
     * primary's delete removes it (eviction under memory pressure still may).
     */
    void expireLocally(boolean local);

    /** Removes every entry, without telling the change listener: for a replica about to resync. */
    void clear();

    /**
     * Installs the listener told of every change from now on ({@link ChangeListener#NONE} to
     * stop). Changes made while it is being swapped are told to the old or the new one.
     */
    void listen(ChangeListener listener);
}
