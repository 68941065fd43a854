package dev.qache.node.store;

/** The outcome of {@link Store#put}. Anything but {@link #STORED} left the store unchanged. */
public enum PutResult {
    /** The value is stored (or, given an expiry already past, the key is gone). */
    STORED,
    /** The entry is larger than the whole memory limit; nothing was evicted for it. */
    TOO_LARGE,
    /**
     * Room could not be made: every byte of the limit is held by writes still in flight on other
     * threads. Only possible when the limit is a handful of entries; safe to retry.
     */
    NO_SPACE
}
