package dev.qache.router.ring;

import dev.qache.protocol.Slots;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.ToIntFunction;
import org.jspecify.annotations.Nullable;

/**
 * Decides slot ownership: the initial layout for a set of shards, and the next layout when one
 * shard joins or leaves. Pure and deterministic: the same inputs give the same assignment.
 *
 * <p>Guarantees, checked by SlotPlannerTest: every shard owns floor(16384/N) slots or one more (so
 * the largest is at most 2% above the mean up to 100 shards); adding a shard moves only slots to
 * the new shard, floor(16384/(N+1)) of them; removing a shard moves only that shard's slots.
 */
/*
 * The ring alone (consistent hashing with virtual nodes) moves few slots but balances only to
 * within several percent; bounded loads (Mirrokni, Thorup, Zadimoghaddam, "Consistent Hashing with
 * Bounded Loads", 2017) cap each shard at a fixed share and pass overflow clockwise. Capping a
 * freshly computed ring after every change would cascade overflow between old shards, so changes
 * are planned from the current assignment instead:
 *
 * 1. Fair shares: with T slots and M shards, every shard's target is floor(T/M), and T mod M of
 *    them get one more; the extra ones go to the shards that own most now (ties: shard id), so
 *    that as few slots as possible move.
 * 2. Join: each old shard gives up what it owns above its target, choosing the slots the ring
 *    (with the new shard on it) most wants to give the new shard - smallest clockwise distance to
 *    one of its virtual nodes - so the new shard's slots are where consistent hashing puts them.
 * 3. Leave: each of the leaving shard's slots goes to the first shard in its clockwise preference
 *    (ring without the leaving shard) that is still below its target.
 * 4. Initial: every slot, in order, goes to the first shard in its clockwise preference that is
 *    below floor(T/M); the T mod M slots left over then go the same way with the cap one higher.
 *    This is bounded-load consistent hashing with the tightest cap, so the layout starts exactly
 *    balanced and later joins only ever take surplus from old shards.
 */
public final class SlotPlanner {

    private SlotPlanner() {}

    public static SlotAssignment initial(HashRing ring) {
        List<String> shards = ring.shards();
        if (shards.isEmpty()) {
            throw new IllegalArgumentException("no shards to own the slots");
        }
        int base = Slots.COUNT / shards.size();
        Map<String, Integer> counts = new HashMap<>();
        String[] owners = new String[Slots.COUNT];
        // Pass 1 fills every shard up to floor(T/M); pass 2 places the T mod M slots left over,
        // at most one more per shard. So every shard ends with floor(T/M) or one more.
        for (int pass = 0; pass < 2; pass++) {
            int limit = base + pass;
            for (int slot = 0; slot < Slots.COUNT; slot++) {
                if (owners[slot] == null) {
                    owners[slot] = firstWithRoomOrNull(ring, Slots.point(slot), counts, s -> limit);
                    if (owners[slot] != null) {
                        counts.merge(owners[slot], 1, Integer::sum);
                    }
                }
            }
        }
        return new SlotAssignment(owners);
    }

    /**
     * The assignment after {@code newShard} joins: only slots that move to it change owner.
     *
     * @param ring the ring including the new shard
     */
    public static SlotAssignment withShardAdded(SlotAssignment current, String newShard, HashRing ring) {
        Map<String, Integer> counts = current.counts();
        if (counts.containsKey(newShard)) {
            throw new IllegalArgumentException("shard " + newShard + " already owns slots");
        }
        List<String> all = new ArrayList<>(counts.keySet());
        all.add(newShard);
        Map<String, Integer> targets = targets(all, counts);
        String[] owners = current.ownersCopy();
        for (Map.Entry<String, Integer> shard : counts.entrySet()) {
            int surplus = shard.getValue() - targets.get(shard.getKey());
            if (surplus <= 0) {
                continue;
            }
            List<Integer> candidates = new ArrayList<>();
            for (int slot = 0; slot < Slots.COUNT; slot++) {
                if (owners[slot].equals(shard.getKey())) {
                    candidates.add(slot);
                }
            }
            Map<Integer, Long> distance = new HashMap<>();
            for (int slot : candidates) {
                distance.put(slot, ring.distanceTo(Slots.point(slot), newShard));
            }
            candidates.sort(Comparator.<Integer>comparingLong(s -> distance.get(s) ^ Long.MIN_VALUE)
                    .thenComparingInt(s -> s));
            for (int i = 0; i < surplus; i++) {
                owners[candidates.get(i)] = newShard;
            }
        }
        return new SlotAssignment(owners);
    }

    /**
     * The assignment after {@code leaving} is drained: only its slots change owner.
     *
     * @param ring the ring without the leaving shard
     */
    public static SlotAssignment withShardRemoved(SlotAssignment current, String leaving, HashRing ring) {
        Map<String, Integer> counts = current.counts();
        if (!counts.containsKey(leaving)) {
            throw new IllegalArgumentException("shard " + leaving + " owns no slots");
        }
        if (ring.shards().contains(leaving)) {
            throw new IllegalArgumentException("the ring must not contain the leaving shard");
        }
        counts.remove(leaving);
        if (counts.isEmpty()) {
            throw new IllegalArgumentException("cannot remove the last shard");
        }
        Map<String, Integer> targets = targets(new ArrayList<>(counts.keySet()), counts);
        String[] owners = current.ownersCopy();
        for (int slot = 0; slot < Slots.COUNT; slot++) {
            if (owners[slot].equals(leaving)) {
                owners[slot] = firstWithRoom(ring, Slots.point(slot), counts, targets::get);
                counts.merge(owners[slot], 1, Integer::sum);
            }
        }
        return new SlotAssignment(owners);
    }

    /** Step 1: floor(T/M) each, one more for the T mod M shards that own most now. */
    private static Map<String, Integer> targets(List<String> shards, Map<String, Integer> counts) {
        int base = Slots.COUNT / shards.size();
        int extra = Slots.COUNT % shards.size();
        List<String> byOwned = new ArrayList<>(new TreeSet<>(shards));
        byOwned.sort(Comparator.<String>comparingInt(s -> -counts.getOrDefault(s, 0)));
        Map<String, Integer> targets = new HashMap<>();
        for (int i = 0; i < byOwned.size(); i++) {
            targets.put(byOwned.get(i), base + (i < extra ? 1 : 0));
        }
        return targets;
    }

    private static String firstWithRoom(
            HashRing ring, long point, Map<String, Integer> counts, ToIntFunction<String> limit) {
        String shard = firstWithRoomOrNull(ring, point, counts, limit);
        if (shard == null) {
            throw new IllegalStateException("no shard has room: targets do not add up to " + Slots.COUNT);
        }
        return shard;
    }

    private static @Nullable String firstWithRoomOrNull(
            HashRing ring, long point, Map<String, Integer> counts, ToIntFunction<String> limit) {
        int start = ring.firstAtOrAfter(point);
        for (int k = 0; k < ring.size(); k++) {
            String shard = ring.shardAt((start + k) % ring.size());
            if (counts.getOrDefault(shard, 0) < limit.applyAsInt(shard)) {
                return shard;
            }
        }
        return null;
    }
}
