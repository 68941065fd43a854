package dev.qache.node.store;

/**
 * Told of every entry a store removes, whatever the cause: a delete, an expiry, an eviction, a
 * slot's drop. The store calls it under the lock of the key's segment, so it must be quick and must
 * not call back into the store. A migration's target uses it to remember the keys that changed
 * while their slot was being copied ({@code ImportTracker}).
 */
@FunctionalInterface
public interface RemovalWatcher {

    /** A watcher that ignores every removal. */
    RemovalWatcher NONE = entry -> {};

    /** {@code entry} ({@code [keyLength][key][value]}) was removed; only its key part matters. */
    void removed(byte[] entry);

    /** A delete of {@code key} found no entry (a migration's target must remember it all the same). */
    default void deletedAbsent(byte[] key) {}

    /** The key hash of a store entry array, as {@link KeyHash#of(byte[])} gives it for the key alone. */
    static long keyHash(byte[] entry) {
        return KeyHash.of(entry, 1, entry[0] & 0xFF);
    }
}
