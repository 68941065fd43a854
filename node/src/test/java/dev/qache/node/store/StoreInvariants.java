package dev.qache.node.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks every structural invariant of a {@link SegmentedLruStore}, in the spirit of Caffeine's
 * CacheValidationInterceptor: tests call it after each operation or at the end of a run. It must
 * be called while no other thread uses the store.
 */
final class StoreInvariants {

    private StoreInvariants() {}

    static void check(SegmentedLruStore store) {
        long accounted = 0;
        long keys = 0;
        Segment[] segments = store.segments();
        for (int s = 0; s < segments.length; s++) {
            Segment segment = segments[s];
            synchronized (segment) {
                accounted += checkSegment(store, segment, s, segments.length);
                keys += segment.size();
            }
        }
        StoreStats stats = store.stats();
        assertThat(stats.usedBytes()).as("accounted bytes = sum of entry sizes").isEqualTo(accounted);
        assertThat(stats.usedBytes()).as("accounted bytes within the limit").isLessThanOrEqualTo(stats.limitBytes());
        assertThat(stats.keys()).as("key count").isEqualTo(keys);
    }

    private static long checkSegment(SegmentedLruStore store, Segment segment, int index, int segmentCount) {
        List<Node> oldestFirst = new ArrayList<>();
        segment.forEachOldestFirst(oldestFirst::add);
        List<Node> newestFirst = new ArrayList<>();
        segment.forEachNewestFirst(newestFirst::add);
        assertThat(newestFirst).as("LRU ring walked both ways").containsExactlyElementsOf(oldestFirst.reversed());
        assertThat(oldestFirst).as("LRU list size").hasSize(segment.size());
        assertThat(segment.tableEntries()).as("hash table size").isEqualTo(segment.size());
        assertThat(segment.count).as("published count").isEqualTo(segment.size());

        Map<Node, Boolean> seen = new IdentityHashMap<>();
        long accounted = 0;
        int withExpiry = 0;
        long previousAge = 0;
        int oldestStamp = oldestFirst.isEmpty() ? 0 : oldestFirst.getFirst().accessStamp;
        for (Node node : oldestFirst) {
            assertThat(seen.put(node, Boolean.TRUE)).as("node listed once").isNull();
            long hash = KeyHash.of(node.key());
            assertThat(node.keyHash()).as("range hash equals hash of the copy").isEqualTo(hash);
            assertThat(segmentIndex(hash, segmentCount))
                    .as("node in its hash's segment")
                    .isEqualTo(index);
            assertThat(segment.find(node.key(), hash))
                    .as("node reachable through the table")
                    .isSameAs(node);
            assertThat(segment.nodeAt(node.slot)).as("node at its slot").isSameAs(node);
            assertThat(node.slot).as("dense slots").isBetween(1, segment.size());
            assertThat(node.expireAtMillis != Store.NO_EXPIRY)
                    .as("in the heap exactly when it expires")
                    .isEqualTo(node.heapIndex >= 0);
            if (node.heapIndex >= 0) {
                withExpiry++;
                assertThat(segment.heapArray()[node.heapIndex]).isSameAs(node);
            }
            // Stamps come from a fake clock that never goes back, so recency order is stamp order
            // (compared as unsigned distances, as the store does).
            long age = Integer.toUnsignedLong(node.accessStamp - oldestStamp);
            assertThat(age).as("LRU order").isGreaterThanOrEqualTo(previousAge);
            previousAge = age;
            accounted += store.accountedBytes(node);
        }
        assertThat(segment.heapSize()).as("heap size").isEqualTo(withExpiry);
        Node[] heap = segment.heapArray();
        for (int i = 1; i < segment.heapSize(); i++) {
            assertThat(heap[(i - 1) / 2].expireAtMillis).as("heap order").isLessThanOrEqualTo(heap[i].expireAtMillis);
        }
        assertThat(segment.earliestExpiryMillis)
                .as("published earliest expiry")
                .isEqualTo(segment.heapSize() == 0 ? Long.MAX_VALUE : heap[0].expireAtMillis);
        if (segment.size() > 0) {
            assertThat(segment.lruTailStamp)
                    .as("published LRU tail stamp")
                    .isEqualTo(oldestFirst.getFirst().accessStamp);
        }
        return accounted;
    }

    private static int segmentIndex(long hash, int segmentCount) {
        return segmentCount == 1 ? 0 : (int) (hash >>> (Long.SIZE - Integer.numberOfTrailingZeros(segmentCount)));
    }
}
