package dev.qache.node.store;

/**
 * Told of every change to a store's contents, in the order the changes were made to each key: the
 * store calls it while it still holds the lock of the key's segment. Replication turns these calls
 * into the stream a primary sends its replicas, so an implementation must be quick and must not
 * call back into the store.
 *
 * <p>{@code entry} is the store's own, never modified array {@code [keyLength][key][value]}: an
 * implementation may keep a reference but must not change it.
 */
public interface ChangeListener {

    /** A listener that ignores every change. */
    ChangeListener NONE = new ChangeListener() {
        @Override
        public void stored(byte[] entry, long expireAtMillis) {}

        @Override
        public void removed(byte[] entry) {}
    };

    /** A value was stored (inserted or replaced), with its absolute expiry or {@link Store#NO_EXPIRY}. */
    void stored(byte[] entry, long expireAtMillis);

    /** An entry was removed: deleted, expired or evicted; only the key part of {@code entry} matters. */
    void removed(byte[] entry);

    /**
     * A delete of {@code key} found no entry. Replication passes it on as a delete all the same:
     * a replica of a migration's target must learn of a delete of a key not copied yet.
     */
    default void deletedAbsent(byte[] key) {}
}
