package dev.qache.node.store;

import java.util.Arrays;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * One independently locked part of a {@link SegmentedLruStore}: a chained hash table, an intrusive
 * LRU ring and a binary min-heap of expiry times over the same {@link Node}s.
 *
 * <p>Every method except the volatile summaries requires the caller to hold the segment's monitor
 * ({@code synchronized (segment)}).
 */
/*
 * Design. The three structures share one node per entry. Nodes also sit in a dense array,
 * nodes[1..size], and the LRU ring links them by slot number; nodes[0] is the ring's sentinel.
 * Following `older` from the sentinel visits newest to oldest, following `newer` oldest to newest,
 * so sentinel.older is the most recently used slot and sentinel.newer the least. Removing a node
 * moves the last node into its slot (fixing that node's two neighbours), so the array stays dense
 * and needs no free list.
 *
 * Why slots and not references: a read moves its node to the MRU end, rewriting the links of the
 * node and its two neighbours. As references those are stores into old-generation objects, each
 * paying G1's post-write barrier (card marking and refinement, a StoreLoad fence on the fast
 * path): measured, it halved the store's read throughput. As ints they are plain stores.
 *
 * The heap orders nodes with an expiry by expireAtMillis and keeps each node's index in the
 * node, so removing any node is O(log n) and the earliest expiry is O(1): that is what lets
 * eviction take expired entries first and the sweeper remove exactly the expired entries.
 *
 * Three volatile summaries (earliest expiry, LRU tail stamp, entry count) are published after each
 * change so the store can pick a victim segment without taking every lock.
 *
 * The lock is the segment's monitor rather than a ReentrantLock for the same reason as the int
 * links: ReentrantLock records its owner thread in a reference field on every acquisition, a
 * barrier-paying store into an old object; a monitor (lightweight locking since JDK 24) does not.
 */
final class Segment {

    private static final int INITIAL_TABLE_SIZE = 16;
    private static final int INITIAL_HEAP_SIZE = 16;
    private static final int INITIAL_NODES_SIZE = 16;

    /** Power-of-two sized; bucket = low bits of the key hash. Guarded by this. */
    private @Nullable Node[] table = new Node[INITIAL_TABLE_SIZE];

    /** nodes[0] is the LRU sentinel, nodes[1..size] the live nodes, node.slot their index. Guarded by this. */
    private @Nullable Node[] nodes = new Node[INITIAL_NODES_SIZE];

    /** Live nodes: in the table, the ring, nodes[1..size] and (those with expiry) the heap. Guarded by this. */
    private int size;

    /** Min-heap on expireAtMillis over heap[0, heapSize). Guarded by this. */
    private @Nullable Node[] heap = new Node[INITIAL_HEAP_SIZE];

    private int heapSize;

    /** Expiry of heap[0], or Long.MAX_VALUE when the heap is empty. Written under this. */
    volatile long earliestExpiryMillis = Long.MAX_VALUE;

    /** Access stamp of the LRU tail; meaningless when {@link #count} is 0. Written under this. */
    volatile int lruTailStamp;

    /** Same as size, for lock-free readers. Written under this. */
    volatile int count;

    Segment() {
        Node sentinel = new Node(new byte[] {0});
        sentinel.slot = 0;
        nodes[0] = sentinel;
    }

    @Nullable
    Node find(byte[] key, long hash) {
        for (Node n = table[bucket(hash, table.length)]; n != null; n = n.chainNext) {
            if (n.hasKey(key)) {
                return n;
            }
        }
        return null;
    }

    /** Adds a node whose key is not present, as the most recently used. */
    void insert(Node node, long hash) {
        if (size >= table.length - (table.length >>> 2)) {
            resizeTable();
        }
        int b = bucket(hash, table.length);
        node.chainNext = table[b];
        table[b] = node;
        size++;
        if (size == nodes.length) {
            nodes = Arrays.copyOf(nodes, nodes.length << 1);
        }
        nodes[size] = node;
        node.slot = size;
        linkNewest(node);
        if (node.expireAtMillis != Store.NO_EXPIRY) {
            heapAdd(node);
        }
        publish();
    }

    /** Removes a node that is present. */
    void remove(Node node, long hash) {
        int b = bucket(hash, table.length);
        Node prev = null;
        for (Node n = table[b]; n != null; prev = n, n = n.chainNext) {
            if (n == node) {
                if (prev == null) {
                    table[b] = n.chainNext;
                } else {
                    prev.chainNext = n.chainNext;
                }
                break;
            }
        }
        node.chainNext = null;
        unlinkLru(node);
        if (node.heapIndex >= 0) {
            heapRemove(node);
        }
        int last = size;
        if (node.slot != last) {
            moveToSlot(nodes[last], node.slot);
        }
        nodes[last] = null;
        node.slot = -1;
        size--;
        if (nodes.length > INITIAL_NODES_SIZE && size + 1 < nodes.length >>> 2) {
            nodes = Arrays.copyOf(nodes, nodes.length >>> 1);
        }
        publish();
    }

    /** Marks a present node most recently used. Writes ints only: no GC barrier on reads. */
    void touch(Node node, int stamp) {
        Node sentinel = nodes[0];
        if (sentinel.older == node.slot && node.accessStamp - stamp > 0) {
            return; // already the newest, with a later stamp than this (stale) one
        }
        node.accessStamp = stamp;
        if (sentinel.older != node.slot) {
            boolean wasOldest = sentinel.newer == node.slot;
            unlinkLru(node);
            linkNewest(node);
            // Only the LRU tail's stamp can have changed; the count and expiry summaries did not.
            if (wasOldest) {
                lruTailStamp = nodes[sentinel.newer].accessStamp;
            }
        } else if (size == 1) {
            lruTailStamp = node.accessStamp;
        }
    }

    /** Changes the expiry of a present node, keeping the heap in order. */
    void setExpiry(Node node, long expireAtMillis) {
        long previous = node.expireAtMillis;
        node.expireAtMillis = expireAtMillis;
        if (previous == Store.NO_EXPIRY && expireAtMillis != Store.NO_EXPIRY) {
            heapAdd(node);
        } else if (previous != Store.NO_EXPIRY && expireAtMillis == Store.NO_EXPIRY) {
            heapRemove(node);
        } else if (previous != expireAtMillis) {
            siftUp(node.heapIndex);
            siftDown(node.heapIndex);
        }
        publish();
    }

    /** The node expiring first, if any. */
    @Nullable
    Node earliestExpiring() {
        return heapSize == 0 ? null : heap[0];
    }

    /** The least recently used node, if any. */
    @Nullable
    Node leastRecentlyUsed() {
        return size == 0 ? null : nodes[nodes[0].newer];
    }

    int size() {
        return size;
    }

    /** Visits nodes from least to most recently used; for validation and snapshots. */
    void forEachOldestFirst(Consumer<Node> visitor) {
        for (int s = nodes[0].newer; s != 0; s = nodes[s].newer) {
            visitor.accept(nodes[s]);
        }
    }

    /** Visits nodes from most to least recently used; for validation. */
    void forEachNewestFirst(Consumer<Node> visitor) {
        for (int s = nodes[0].older; s != 0; s = nodes[s].older) {
            visitor.accept(nodes[s]);
        }
    }

    /** The node in a slot, for validation. */
    @Nullable
    Node nodeAt(int slot) {
        return slot < nodes.length ? nodes[slot] : null;
    }

    /** The heap's backing array and size, for validation. */
    @Nullable
    Node[] heapArray() {
        return heap;
    }

    int heapSize() {
        return heapSize;
    }

    /** Chain lengths summed over the table, for validation. */
    int tableEntries() {
        int total = 0;
        for (Node head : table) {
            for (Node n = head; n != null; n = n.chainNext) {
                total++;
            }
        }
        return total;
    }

    private void publish() {
        count = size;
        earliestExpiryMillis = heapSize == 0 ? Long.MAX_VALUE : heap[0].expireAtMillis;
        if (size > 0) {
            lruTailStamp = nodes[nodes[0].newer].accessStamp;
        }
    }

    private void linkNewest(Node node) {
        Node sentinel = nodes[0];
        int newest = sentinel.older;
        // Stamps are read from the clock before the segment's lock is taken, so a thread that read
        // it earlier can link a node after one that read it later. Recency is link order: the
        // stamp follows it, never older than the newest node's.
        if (newest != 0 && nodes[newest].accessStamp - node.accessStamp > 0) {
            node.accessStamp = nodes[newest].accessStamp;
        }
        node.older = newest;
        node.newer = 0;
        nodes[newest].newer = node.slot;
        sentinel.older = node.slot;
    }

    private void unlinkLru(Node node) {
        nodes[node.older].newer = node.newer;
        nodes[node.newer].older = node.older;
    }

    /** Moves a linked node to a free slot, repointing its two ring neighbours. */
    private void moveToSlot(Node node, int slot) {
        nodes[slot] = node;
        node.slot = slot;
        nodes[node.older].newer = slot;
        nodes[node.newer].older = slot;
    }

    private void resizeTable() {
        Node[] old = table;
        Node[] grown = new Node[old.length << 1];
        for (Node head : old) {
            Node n = head;
            while (n != null) {
                Node next = n.chainNext;
                int b = bucket(n.keyHash(), grown.length);
                n.chainNext = grown[b];
                grown[b] = n;
                n = next;
            }
        }
        table = grown;
    }

    /** Bits of a cluster slot: the slot is bits 32 to 45 of the key hash (as protocol.Slots). */
    static final int SLOT_BITS = 14;

    static int slotOf(long hash) {
        return (int) (hash >>> 32) & ((1 << SLOT_BITS) - 1);
    }

    /*
     * Buckets are ordered by cluster slot: the slot's 14 bits are the high bits of the bucket
     * index (the low bits of the hash fill the rest in a table larger than 16384), so the keys of
     * one slot sit in one contiguous run of buckets, shared with neighbouring slots only in a
     * table smaller than 16384. That run is the per-slot index migration reads: no scan of the
     * store, and no memory per entry.
     */
    private static int bucket(long hash, int tableLength) {
        int bits = Integer.numberOfTrailingZeros(tableLength);
        int slot = slotOf(hash);
        if (bits <= SLOT_BITS) {
            return slot >>> (SLOT_BITS - bits);
        }
        int low = bits - SLOT_BITS;
        return (slot << low) | ((int) hash & ((1 << low) - 1));
    }

    /** Visits the nodes of one cluster slot: one run of buckets. */
    void forEachInSlot(int slot, Consumer<Node> visitor) {
        int bits = Integer.numberOfTrailingZeros(table.length);
        int from;
        int to;
        if (bits <= SLOT_BITS) {
            from = slot >>> (SLOT_BITS - bits);
            to = from + 1;
        } else {
            from = slot << (bits - SLOT_BITS);
            to = (slot + 1) << (bits - SLOT_BITS);
        }
        for (int b = from; b < to; b++) {
            for (Node n = table[b]; n != null; n = n.chainNext) {
                if (bits > SLOT_BITS || slotOf(n.keyHash()) == slot) {
                    visitor.accept(n);
                }
            }
        }
    }

    // ---- expiry heap ----

    private void heapAdd(Node node) {
        if (heapSize == heap.length) {
            heap = Arrays.copyOf(heap, heap.length << 1);
        }
        heap[heapSize] = node;
        node.heapIndex = heapSize;
        heapSize++;
        siftUp(node.heapIndex);
    }

    private void heapRemove(Node node) {
        int i = node.heapIndex;
        int last = --heapSize;
        Node moved = heap[last];
        heap[last] = null;
        node.heapIndex = -1;
        if (i != last) {
            heap[i] = moved;
            moved.heapIndex = i;
            siftUp(i);
            siftDown(moved.heapIndex);
        }
        if (heap.length > INITIAL_HEAP_SIZE && heapSize < heap.length >>> 2) {
            heap = Arrays.copyOf(heap, heap.length >>> 1);
        }
    }

    private void siftUp(int index) {
        int i = index;
        Node node = heap[i];
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            Node p = heap[parent];
            if (p.expireAtMillis <= node.expireAtMillis) {
                break;
            }
            heap[i] = p;
            p.heapIndex = i;
            i = parent;
        }
        heap[i] = node;
        node.heapIndex = i;
    }

    private void siftDown(int index) {
        int i = index;
        Node node = heap[i];
        int half = heapSize >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            Node c = heap[child];
            int right = child + 1;
            if (right < heapSize && heap[right].expireAtMillis < c.expireAtMillis) {
                child = right;
                c = heap[child];
            }
            if (node.expireAtMillis <= c.expireAtMillis) {
                break;
            }
            heap[i] = c;
            c.heapIndex = i;
            i = child;
        }
        heap[i] = node;
        node.heapIndex = i;
    }
}
