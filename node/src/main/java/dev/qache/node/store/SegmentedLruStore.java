package dev.qache.node.store;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/**
 * The node's store: a power-of-two number of {@link Segment}s, each locked independently, under one
 * memory limit shared by all of them.
 *
 * <p>Recency is tracked per segment and compared across segments by access time, so eviction takes
 * the least recently used entry of the whole store to the clock's millisecond: exactly when the
 * store has one segment, and approximately (ties broken by segment order) when several entries of
 * different segments were last touched in the same millisecond.
 */
/*
 * Memory accounting. usedBytes is the sum of EntrySizer.entryBytes over live entries plus the bytes
 * reserved by writes in flight. A write reserves its full size with a CAS that only succeeds while
 * the sum stays within the limit, before it takes any segment lock; an overwrite returns the old
 * entry's bytes afterwards. So the accounted total can never pass the limit, even transiently, and
 * no thread ever holds two segment locks (eviction runs between the reservation attempts, taking
 * one victim segment's lock at a time).
 *
 * Victim choice (evictOne): first the segment whose earliest expiry has passed (an expired entry
 * goes before any live one), else the segment whose LRU tail is oldest. Both are read from the
 * segments' volatile summaries without locking, then confirmed under the victim's lock. Cost: one
 * pass over the segment summaries per evicted entry, a few dozen volatile reads.
 */
public final class SegmentedLruStore implements Store {

    /** Failed eviction attempts (nothing evictable) tolerated before a write gives up. */
    private static final int MAX_FRUITLESS_EVICTIONS = 1_000;

    /** Entries removed per segment lock hold by {@link #removeExpired}, to keep holds short. */
    private static final int SWEEP_BATCH_PER_LOCK = 64;

    private final Segment[] segments;
    private final int segmentShift;
    private final long limitBytes;
    private final EntrySizer sizer;
    private final Clock clock;

    /** Accounted bytes of live entries plus reservations in flight; never above limitBytes. */
    private final AtomicLong usedBytes = new AtomicLong();

    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder evictions = new LongAdder();
    private final LongAdder expirations = new LongAdder();

    /** Told of every change, under the segment lock; see {@link ChangeListener}. */
    private volatile ChangeListener listener = ChangeListener.NONE;

    /** Told of every removal, under the segment lock; see {@link RemovalWatcher}. */
    private volatile RemovalWatcher watcher = RemovalWatcher.NONE;

    /** Where the next sweep starts, so that every segment gets swept. Racy by design. */
    private int sweepCursor;

    /**
     * @param limitBytes accounted bytes the store may hold
     * @param segmentCount a power of two, at least 1
     */
    public SegmentedLruStore(long limitBytes, int segmentCount, EntrySizer sizer, Clock clock) {
        if (limitBytes <= 0) {
            throw new IllegalArgumentException("memory limit must be positive: " + limitBytes);
        }
        if (segmentCount < 1 || Integer.bitCount(segmentCount) != 1) {
            throw new IllegalArgumentException("segment count must be a power of two: " + segmentCount);
        }
        this.limitBytes = limitBytes;
        this.sizer = sizer;
        this.clock = clock;
        this.segments = new Segment[segmentCount];
        for (int i = 0; i < segmentCount; i++) {
            segments[i] = new Segment();
        }
        // The top bits pick the segment; Long.SIZE - 0 would be a shift of 64, i.e. of 0 in Java.
        this.segmentShift = segmentCount == 1 ? 0 : Long.SIZE - Integer.numberOfTrailingZeros(segmentCount);
    }

    /**
     * False on a replica: an expired entry is hidden from reads but stays until the primary's
     * delete arrives, so this node's clock never removes a key its primary still holds.
     */
    private volatile boolean expiresLocally = true;

    @Override
    public void expireLocally(boolean local) {
        this.expiresLocally = local;
    }

    @Override
    public @Nullable StoredValue get(byte[] key) {
        long hash = KeyHash.of(key);
        Segment segment = segmentFor(hash);
        long now = clock.currentTimeMillis();
        StoredValue result = null;
        boolean expired = false;
        synchronized (segment) {
            Node node = segment.find(key, hash);
            if (node != null) {
                if (isExpired(node, now) && !expiresLocally) {
                    // Hidden, not removed: the primary's delete will remove it.
                } else if (isExpired(node, now)) {
                    segment.remove(node, hash);
                    release(node);
                    removed(node);
                    expired = true;
                } else {
                    segment.touch(node, (int) now);
                    result = new StoredValue(node.data, node.valueOffset(), node.expireAtMillis);
                }
            }
        }
        if (expired) {
            expirations.increment();
        }
        (result == null ? misses : hits).increment();
        return result;
    }

    @Override
    public PutResult put(byte[] key, byte[] value, int valueOffset, int valueLength, long expireAtMillis) {
        checkKey(key);
        long now = clock.currentTimeMillis();
        if (expireAtMillis != NO_EXPIRY && expireAtMillis <= now && expiresLocally) {
            delete(key);
            return PutResult.STORED;
        }
        long needed = sizer.entryBytes(key.length, valueLength, expireAtMillis != NO_EXPIRY);
        if (needed > limitBytes) {
            return PutResult.TOO_LARGE;
        }
        byte[] data = Node.data(key, value, valueOffset, valueLength);
        long hash = KeyHash.of(key);
        Segment segment = segmentFor(hash);
        // Fast path: an overwrite that needs no more room than the entry it replaces takes no
        // reservation, and a same-size one touches the shared counter not at all.
        synchronized (segment) {
            Node node = segment.find(key, hash);
            if (node != null) {
                long old = accountedBytes(node);
                if (needed <= old) {
                    replace(segment, node, data, expireAtMillis, now);
                    listener.stored(data, expireAtMillis);
                    if (needed != old) {
                        usedBytes.addAndGet(needed - old);
                    }
                    return PutResult.STORED;
                }
            }
        }
        if (!reserve(needed)) {
            return PutResult.NO_SPACE;
        }
        synchronized (segment) {
            Node node = segment.find(key, hash);
            if (node == null) {
                node = new Node(data);
                node.expireAtMillis = expireAtMillis;
                node.accessStamp = (int) now;
                segment.insert(node, hash);
            } else {
                release(node);
                replace(segment, node, data, expireAtMillis, now);
            }
            listener.stored(data, expireAtMillis);
        }
        return PutResult.STORED;
    }

    private static void replace(Segment segment, Node node, byte[] data, long expireAtMillis, long now) {
        node.data = data;
        segment.setExpiry(node, expireAtMillis);
        segment.touch(node, (int) now);
    }

    @Override
    public boolean delete(byte[] key) {
        long hash = KeyHash.of(key);
        Segment segment = segmentFor(hash);
        long now = clock.currentTimeMillis();
        boolean removedLive;
        boolean removedExpired;
        synchronized (segment) {
            Node node = segment.find(key, hash);
            if (node == null) {
                listener.deletedAbsent(key);
                watcher.deletedAbsent(key);
                return false;
            }
            removedExpired = isExpired(node, now);
            removedLive = !removedExpired;
            segment.remove(node, hash);
            release(node);
            removed(node);
        }
        if (removedExpired) {
            expirations.increment();
        }
        return removedLive;
    }

    @Override
    public int removeExpired(int maxEntries) {
        if (!expiresLocally) {
            return 0;
        }
        long now = clock.currentTimeMillis();
        int removed = 0;
        int start = sweepCursor;
        for (int i = 0; i < segments.length && removed < maxEntries; i++) {
            Segment segment = segments[(start + i) & (segments.length - 1)];
            if (segment.earliestExpiryMillis > now) {
                continue;
            }
            // Whole batches per lock hold; revisit the segment while its batches come back full.
            int batch;
            do {
                batch = removeExpired(segment, Math.min(SWEEP_BATCH_PER_LOCK, maxEntries - removed), now);
                removed += batch;
            } while (batch == SWEEP_BATCH_PER_LOCK && removed < maxEntries);
        }
        sweepCursor = start + 1;
        return removed;
    }

    private int removeExpired(Segment segment, int max, long now) {
        int removed = 0;
        synchronized (segment) {
            for (Node node = segment.earliestExpiring();
                    node != null && removed < max && isExpired(node, now);
                    node = segment.earliestExpiring()) {
                segment.remove(node, node.keyHash());
                release(node);
                removed(node);
                removed++;
            }
        }
        expirations.add(removed);
        return removed;
    }

    @Override
    public StoreStats stats() {
        long keys = 0;
        for (Segment segment : segments) {
            keys += segment.count;
        }
        return new StoreStats(
                keys, usedBytes.get(), limitBytes, hits.sum(), misses.sum(), evictions.sum(), expirations.sum());
    }

    @Override
    public Clock clock() {
        return clock;
    }

    /*
     * A scan walks each segment's dense node array from the top slot down. Removal moves the last
     * node into the freed slot: from a higher slot to a lower one, so a node can only move from the
     * part already visited into the part not yet visited (and be seen twice), never the other way;
     * insertions land above the cursor and belong to the changes made after the scan started.
     * Cursor: segment index in the high 32 bits, the exclusive upper slot bound in the low 32 (0:
     * from the top). Data arrays are never modified, so references collected under the lock are
     * read after it is released.
     */
    @Override
    public long scan(long cursor, int maxEntries, EntryVisitor visitor) {
        if (cursor == SCAN_DONE) {
            return SCAN_DONE;
        }
        if (maxEntries < 1) {
            throw new IllegalArgumentException("maxEntries must be positive: " + maxEntries);
        }
        int index = (int) (cursor >>> 32);
        int bound = (int) cursor;
        if (index < 0 || index >= segments.length || bound < 0) {
            throw new IllegalArgumentException("not a scan cursor: " + cursor);
        }
        long now = clock.currentTimeMillis();
        byte[][] entries = new byte[maxEntries][];
        long[] expiries = new long[maxEntries];
        int found = 0;
        int slot;
        Segment segment = segments[index];
        synchronized (segment) {
            slot = bound == 0 ? segment.size() : Math.min(bound - 1, segment.size());
            for (; slot >= 1 && found < maxEntries; slot--) {
                Node node = segment.nodeAt(slot);
                if (node != null && !isExpired(node, now)) {
                    entries[found] = node.data;
                    expiries[found++] = node.expireAtMillis;
                }
            }
        }
        for (int i = 0; i < found; i++) {
            visitor.visit(entries[i], expiries[i]);
        }
        if (slot >= 1) {
            return ((long) index << 32) | (slot + 1);
        }
        return index + 1 < segments.length ? (long) (index + 1) << 32 : SCAN_DONE;
    }

    /*
     * The segment is picked by the top bits of the key hash, so segments follow each other in hash
     * order: a chunk starts at the segment of fromHash, sorts that segment's part of the slot by
     * hash, and moves on to the next segment while the budget lasts. Hash, entry and expiry are
     * read together under the lock (an overwrite replaces entry and expiry together).
     */
    @Override
    public OptionalLong scanSlot(int slot, long fromHash, long maxBytes, EntryVisitor visitor) {
        checkSlot(slot);
        long now = clock.currentTimeMillis();
        long bytes = 0;
        List<SlotEntry> found = new ArrayList<>();
        for (int index = segmentShift == 0 ? 0 : (int) (fromHash >>> segmentShift); index < segments.length; index++) {
            found.clear();
            Segment segment = segments[index];
            synchronized (segment) {
                segment.forEachInSlot(slot, node -> {
                    long hash = node.keyHash();
                    if (!isExpired(node, now) && Long.compareUnsigned(hash, fromHash) >= 0) {
                        found.add(new SlotEntry(hash, node.data, node.expireAtMillis));
                    }
                });
            }
            found.sort((a, b) -> Long.compareUnsigned(a.hash, b.hash));
            for (int i = 0; i < found.size(); i++) {
                SlotEntry entry = found.get(i);
                if (bytes >= maxBytes && entry.hash != found.get(i - 1).hash) {
                    return OptionalLong.of(entry.hash);
                }
                visitor.visit(entry.data, entry.expireAtMillis);
                bytes += entry.data.length;
            }
            if (bytes >= maxBytes && index + 1 < segments.length) {
                return OptionalLong.of((long) (index + 1) << segmentShift);
            }
        }
        return OptionalLong.empty();
    }

    private record SlotEntry(long hash, byte[] data, long expireAtMillis) {}

    @Override
    public boolean holds(byte[] key) {
        long hash = KeyHash.of(key);
        Segment segment = segmentFor(hash);
        synchronized (segment) {
            return segment.find(key, hash) != null;
        }
    }

    @Override
    public int dropSlot(int slot) {
        checkSlot(slot);
        int dropped = 0;
        java.util.List<Node> found = new java.util.ArrayList<>();
        for (Segment segment : segments) {
            found.clear();
            synchronized (segment) {
                segment.forEachInSlot(slot, found::add);
                for (Node node : found) {
                    segment.remove(node, node.keyHash());
                    release(node);
                    removed(node);
                }
            }
            dropped += found.size();
        }
        return dropped;
    }

    private static void checkKey(byte[] key) {
        if (key.length > MAX_KEY_BYTES) {
            throw new IllegalArgumentException("key longer than " + MAX_KEY_BYTES + " bytes: " + key.length);
        }
    }

    private static void checkSlot(int slot) {
        if (slot < 0 || slot >= 1 << Segment.SLOT_BITS) {
            throw new IllegalArgumentException("no slot " + slot);
        }
    }

    @Override
    public byte @Nullable [] putIfAbsent(
            byte[] key, byte[] value, int valueOffset, int valueLength, long expireAtMillis) {
        checkKey(key);
        long now = clock.currentTimeMillis();
        long needed = sizer.entryBytes(key.length, valueLength, expireAtMillis != NO_EXPIRY);
        if ((expireAtMillis != NO_EXPIRY && expireAtMillis <= now) || needed > limitBytes) {
            return null;
        }
        long hash = KeyHash.of(key);
        Segment segment = segmentFor(hash);
        synchronized (segment) {
            Node node = segment.find(key, hash);
            if (node != null && !isExpired(node, now)) {
                return null;
            }
        }
        if (!reserve(needed)) {
            return null;
        }
        byte[] data = Node.data(key, value, valueOffset, valueLength);
        synchronized (segment) {
            Node node = segment.find(key, hash);
            if (node == null) {
                node = new Node(data);
                node.expireAtMillis = expireAtMillis;
                node.accessStamp = (int) now;
                segment.insert(node, hash);
            } else if (isExpired(node, now)) {
                // The expired entry goes first, as a removal (replicated as a delete, and seen by
                // the watcher: a migration's target must not take a copy over a key that expired).
                release(node);
                expirations.increment();
                removed(node);
                replace(segment, node, data, expireAtMillis, now);
            } else {
                usedBytes.addAndGet(-needed);
                return null;
            }
            listener.stored(data, expireAtMillis);
        }
        return data;
    }

    @Override
    public boolean deleteIfSame(byte[] key, byte[] entry) {
        long hash = KeyHash.of(key);
        Segment segment = segmentFor(hash);
        synchronized (segment) {
            Node node = segment.find(key, hash);
            if (node == null || node.data != entry) {
                return false;
            }
            segment.remove(node, hash);
            release(node);
            removed(node);
            return true;
        }
    }

    @Override
    public void clear() {
        for (Segment segment : segments) {
            synchronized (segment) {
                for (Node node = segment.leastRecentlyUsed(); node != null; node = segment.leastRecentlyUsed()) {
                    segment.remove(node, node.keyHash());
                    release(node);
                }
            }
        }
    }

    @Override
    public void watchRemovals(RemovalWatcher watcher) {
        this.watcher = watcher == null ? RemovalWatcher.NONE : watcher;
    }

    /** Tells the listener and the watcher that {@code node} was removed; under its segment's lock. */
    private void removed(Node node) {
        listener.removed(node.data);
        watcher.removed(node.data);
    }

    @Override
    public void listen(ChangeListener listener) {
        this.listener = listener == null ? ChangeListener.NONE : listener;
    }

    /** Segments, for the invariant checks in tests. */
    Segment[] segments() {
        return segments;
    }

    EntrySizer sizer() {
        return sizer;
    }

    long accountedBytes(Node node) {
        return sizer.entryBytes(node.keyLength(), node.valueLength(), node.expireAtMillis != NO_EXPIRY);
    }

    private Segment segmentFor(long hash) {
        return segments[segmentShift == 0 ? 0 : (int) (hash >>> segmentShift)];
    }

    private static boolean isExpired(Node node, long now) {
        return node.expireAtMillis != NO_EXPIRY && node.expireAtMillis <= now;
    }

    private void release(Node node) {
        usedBytes.addAndGet(-accountedBytes(node));
    }

    /** Reserves {@code bytes} of the limit, evicting as needed; false if no room could be made. */
    private boolean reserve(long bytes) {
        int fruitless = 0;
        while (true) {
            long used = usedBytes.get();
            if (used + bytes <= limitBytes) {
                if (usedBytes.compareAndSet(used, used + bytes)) {
                    return true;
                }
            } else if (!evictOne()) {
                // Everything left is held by reservations of writes in flight; they finish quickly.
                if (++fruitless > MAX_FRUITLESS_EVICTIONS) {
                    return false;
                }
                Thread.onSpinWait();
            }
        }
    }

    /** Removes one entry: an expired one if any segment has one, else the least recently used. */
    private boolean evictOne() {
        long now = clock.currentTimeMillis();
        Segment expiredVictim = null;
        long earliest = now;
        for (Segment segment : segments) {
            long e = segment.earliestExpiryMillis;
            if (e <= earliest) {
                earliest = e;
                expiredVictim = segment;
            }
        }
        if (expiredVictim != null && removeExpired(expiredVictim, 1, now) == 1) {
            return true;
        }
        Segment lruVictim = null;
        long oldestAge = -1;
        int nowStamp = (int) now;
        for (Segment segment : segments) {
            if (segment.count > 0) {
                long age = Integer.toUnsignedLong(nowStamp - segment.lruTailStamp);
                if (age > oldestAge) {
                    oldestAge = age;
                    lruVictim = segment;
                }
            }
        }
        return lruVictim != null && evictLeastRecentlyUsed(lruVictim);
    }

    private boolean evictLeastRecentlyUsed(Segment segment) {
        synchronized (segment) {
            Node victim = segment.leastRecentlyUsed();
            if (victim == null) {
                return false;
            }
            segment.remove(victim, victim.keyHash());
            release(victim);
            removed(victim);
        }
        evictions.increment();
        return true;
    }
}
