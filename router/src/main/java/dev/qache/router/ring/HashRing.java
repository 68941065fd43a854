package dev.qache.router.ring;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;
import java.util.function.ToLongFunction;
import net.openhft.hashing.LongHashFunction;

/**
 * Virtual nodes of shards on a 64-bit ring (unsigned order). A point belongs to the first virtual
 * node at or clockwise after it; walking on gives the point's preference order over shards.
 *
 * <p>The hash is injectable so that tests can place virtual nodes exactly (as groupcache's ring test
 * does). Two virtual nodes on the same token are ordered by shard id, then by index, so placement
 * never depends on the order the shards were given in.
 */
public final class HashRing {

    /** Virtual nodes per shard: enough that the unbounded ring is within a few percent of even. */
    public static final int DEFAULT_VNODES = 160;

    public static final ToLongFunction<String> XXH3 =
            s -> LongHashFunction.xx3().hashBytes(s.getBytes(StandardCharsets.UTF_8));

    private record VirtualNode(long token, String shard, int index) {}

    private static final Comparator<VirtualNode> RING_ORDER = Comparator.<VirtualNode>comparingLong(
                    v -> v.token ^ Long.MIN_VALUE) // unsigned order
            .thenComparing(VirtualNode::shard)
            .thenComparingInt(VirtualNode::index);

    private final VirtualNode[] ring;
    private final long[] unsignedTokens;
    private final List<String> shards;

    public HashRing(Collection<String> shardIds, int vnodesPerShard, ToLongFunction<String> hash) {
        if (vnodesPerShard < 1) {
            throw new IllegalArgumentException("at least one virtual node per shard");
        }
        List<VirtualNode> nodes = new ArrayList<>();
        for (String shard : new TreeSet<>(shardIds)) {
            for (int i = 0; i < vnodesPerShard; i++) {
                nodes.add(new VirtualNode(hash.applyAsLong(shard + "#" + i), shard, i));
            }
        }
        nodes.sort(RING_ORDER);
        this.ring = nodes.toArray(VirtualNode[]::new);
        this.unsignedTokens = new long[ring.length];
        for (int i = 0; i < ring.length; i++) {
            unsignedTokens[i] = ring[i].token ^ Long.MIN_VALUE;
        }
        this.shards = List.copyOf(new TreeSet<>(shardIds));
    }

    public HashRing(Collection<String> shardIds) {
        this(shardIds, DEFAULT_VNODES, XXH3);
    }

    public List<String> shards() {
        return shards;
    }

    /** Index in the ring of the first virtual node at or after {@code point}, wrapping. */
    int firstAtOrAfter(long point) {
        int i = Arrays.binarySearch(unsignedTokens, point ^ Long.MIN_VALUE);
        if (i < 0) {
            i = -i - 1;
        } else {
            // Equal tokens: the first of them in ring order.
            while (i > 0 && unsignedTokens[i - 1] == unsignedTokens[i]) {
                i--;
            }
        }
        return i == ring.length ? 0 : i;
    }

    int size() {
        return ring.length;
    }

    String shardAt(int ringIndex) {
        return ring[ringIndex].shard;
    }

    /** The owner of a point on the unbounded ring. */
    public String ownerOf(long point) {
        return ring[firstAtOrAfter(point)].shard;
    }

    /**
     * Clockwise distance from {@code point} to the nearest virtual node of {@code shard}: 0 when it
     * sits on the point, smallest for the slots the ring most wants to give that shard.
     */
    long distanceTo(long point, String shard) {
        long best = -1; // unsigned max
        int start = firstAtOrAfter(point);
        for (int k = 0; k < ring.length; k++) {
            VirtualNode v = ring[(start + k) % ring.length];
            if (v.shard.equals(shard)) {
                best = v.token - point;
                break;
            }
        }
        return best;
    }
}
