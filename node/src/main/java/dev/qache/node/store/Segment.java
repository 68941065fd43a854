package dev.qache.node.store;

import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * One independently locked part of a {@link SegmentedLruStore}: a chained hash table, an intrusive
 * LRU list and a binary min-heap of expiry times over the same {@link Node}s.
 *
 * <p>Every method except the volatile summaries requires {@link #lock} to be held by the caller.
 */
/*
 * Design: the three structures share one node per entry, so an entry costs one object plus its
 * key and value arrays. The LRU list is a ring closed by a sentinel, so linking and unlinking have
 * no special cases. The heap orders nodes with an expiry by
 * expireAtMillis and stores each node's index in the node, so removing an arbitrary node is
 * O(log n) and finding the earliest expiry is O(1) - that is what lets eviction take expired
 * entries first and lets the sweeper remove exactly the expired entries instead of sampling.
 *
 * Three volatile summaries (earliest expiry, LRU tail stamp, entry count) are published after each
 * change so the store can pick a victim segment without taking every lock.
 */
final class Segment {

    private static final int INITIAL_TABLE_SIZE = 16;
    private static final int INITIAL_HEAP_SIZE = 16;

    final ReentrantLock lock = new ReentrantLock();

    /** Power-of-two sized; bucket = low bits of the key hash. Guarded by lock. */
    private @Nullable Node[] table = new Node[INITIAL_TABLE_SIZE];

    /** Live nodes in the table, the LRU ring and (those with expiry) the heap. Guarded by lock. */
    private int size;

    /**
     * Ring sentinel. Following {@code older} from it visits newest to oldest, following {@code
     * newer} visits oldest to newest: lru.older is the most recently used node, lru.newer the
     * least. Guarded by lock.
     */
    private final Node lru = new Node(new byte[0], new byte[0]);

    /** Min-heap on expireAtMillis over heap[0, heapSize). Guarded by lock. */
    private @Nullable Node[] heap = new Node[INITIAL_HEAP_SIZE];

    private int heapSize;

    /** Expiry of heap[0], or Long.MAX_VALUE when the heap is empty. Written under lock. */
    volatile long earliestExpiryMillis = Long.MAX_VALUE;

    /** Access stamp of the LRU tail; meaningless when {@link #count} is 0. Written under lock. */
    volatile int lruTailStamp;

    /** Same as size, for lock-free readers. Written under lock. */
    volatile int count;

    Segment() {
        lru.older = lru;
        lru.newer = lru;
    }

    @Nullable
    Node find(byte[] key, long hash) {
        for (Node n = table[bucket(hash, table.length)]; n != null; n = n.chainNext) {
            if (Arrays.equals(n.key, key)) {
                return n;
            }
        }
        return null;
    }

    /** Adds a node whose key is not present, as the most recently used. */
    void insert(Node node, long hash) {
        if (size >= table.length - (table.length >>> 2)) {
            resize();
        }
        int b = bucket(hash, table.length);
        node.chainNext = table[b];
        table[b] = node;
        linkNewest(node);
        if (node.expireAtMillis != Store.NO_EXPIRY) {
            heapAdd(node);
        }
        size++;
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
        size--;
        publish();
    }

    /** Marks a present node most recently used. */
    void touch(Node node, int stamp) {
        node.accessStamp = stamp;
        if (lru.older != node) {
            unlinkLru(node);
            linkNewest(node);
        }
        publish();
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
        return size == 0 ? null : lru.newer;
    }

    int size() {
        return size;
    }

    /** Visits nodes from least to most recently used; for validation and snapshots. */
    void forEachOldestFirst(Consumer<Node> visitor) {
        for (Node n = lru.newer; n != lru; n = n.newer) {
            visitor.accept(n);
        }
    }

    /** Visits nodes from most to least recently used; for validation. */
    void forEachNewestFirst(Consumer<Node> visitor) {
        for (Node n = lru.older; n != lru; n = n.older) {
            visitor.accept(n);
        }
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
            lruTailStamp = lru.newer.accessStamp;
        }
    }

    private void linkNewest(Node node) {
        Node newest = lru.older;
        node.older = newest;
        node.newer = lru;
        newest.newer = node;
        lru.older = node;
    }

    private void unlinkLru(Node node) {
        node.older.newer = node.newer;
        node.newer.older = node.older;
        node.older = null;
        node.newer = null;
    }

    private void resize() {
        Node[] old = table;
        Node[] grown = new Node[old.length << 1];
        for (Node head : old) {
            Node n = head;
            while (n != null) {
                Node next = n.chainNext;
                int b = bucket(KeyHash.of(n.key), grown.length);
                n.chainNext = grown[b];
                grown[b] = n;
                n = next;
            }
        }
        table = grown;
    }

    private static int bucket(long hash, int tableLength) {
        return (int) hash & (tableLength - 1);
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
