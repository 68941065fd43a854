package dev.qache.node.store;

/**
 * Counters of a store. Each field is read without a global lock, so the fields may be a few
 * operations apart from one another.
 */
public record StoreStats(
        long keys, long usedBytes, long limitBytes, long hits, long misses, long evictions, long expirations) {}
