package dev.qache.router.cluster;

import dev.qache.protocol.Slots;
import dev.qache.router.ring.HashRing;
import dev.qache.router.ring.SlotAssignment;
import dev.qache.router.ring.SlotPlanner;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * The cluster map: the epoch, the shards with their primary and replicas, and which shard owns each
 * slot. Immutable; every change returns a new map with the epoch one higher, so "newer" is just a
 * larger epoch (the fencing token nodes compare).
 *
 * <p>Adding or removing a shard of a running cluster does not move ownership at once: the map
 * first names the slots that move and their targets ({@link #targetOf}), the keys are copied
 * while both shards serve, and a later map flips the owners ({@link #withMovesCommitted}).
 */
public final class ClusterMap {

    private final long epoch;
    private final Map<String, Shard> shards;
    private final @Nullable SlotAssignment slots;

    /** Slots being migrated, to their target shard. */
    private final Map<Integer, String> moving;

    ClusterMap(long epoch, Map<String, Shard> shards, @Nullable SlotAssignment slots) {
        this(epoch, shards, slots, Map.of());
    }

    ClusterMap(long epoch, Map<String, Shard> shards, @Nullable SlotAssignment slots, Map<Integer, String> moving) {
        if (epoch < 0) {
            throw new IllegalArgumentException("negative epoch");
        }
        if (shards.isEmpty() != (slots == null)) {
            throw new IllegalArgumentException("slots are owned exactly when there are shards");
        }
        if (slots != null && !shards.keySet().containsAll(slots.counts().keySet())) {
            throw new IllegalArgumentException(
                    "slot owners " + slots.counts().keySet() + " are not all shards " + shards.keySet());
        }
        for (Map.Entry<Integer, String> move : moving.entrySet()) {
            if (!shards.containsKey(move.getValue()) || slots == null) {
                throw new IllegalArgumentException("slot " + move.getKey() + " moves to unknown " + move.getValue());
            }
            if (slots.ownerOf(move.getKey()).equals(move.getValue())) {
                throw new IllegalArgumentException("slot " + move.getKey() + " moves to its own owner");
            }
        }
        this.epoch = epoch;
        this.shards = Collections.unmodifiableMap(new TreeMap<>(shards));
        this.slots = slots;
        this.moving = Collections.unmodifiableMap(new TreeMap<>(moving));
    }

    public static ClusterMap empty() {
        return new ClusterMap(0, Map.of(), null);
    }

    /** Rebuilds a map read back from its durable form; checks that it is consistent. */
    public static ClusterMap restore(long epoch, List<Shard> shards, @Nullable SlotAssignment slots) {
        return restore(epoch, shards, slots, Map.of());
    }

    public static ClusterMap restore(
            long epoch, List<Shard> shards, @Nullable SlotAssignment slots, Map<Integer, String> moving) {
        Map<String, Shard> byId = new LinkedHashMap<>();
        for (Shard shard : shards) {
            if (byId.put(shard.id(), shard) != null) {
                throw new IllegalArgumentException("shard " + shard.id() + " appears twice");
            }
        }
        return new ClusterMap(epoch, byId, slots, moving);
    }

    /**
     * A new cluster's first map (epoch 1): the shards share the slots at once, as there are no
     * keys yet to move.
     */
    public static ClusterMap bootstrap(List<Shard> shards) {
        if (shards.isEmpty()) {
            return empty();
        }
        Map<String, Shard> byId = new TreeMap<>();
        Set<String> nodes = new TreeSet<>();
        for (Shard shard : shards) {
            if (byId.put(shard.id(), shard) != null) {
                throw new IllegalArgumentException("shard " + shard.id() + " appears twice");
            }
            for (String node : members(shard)) {
                if (!nodes.add(node)) {
                    throw new IllegalArgumentException("node " + node + " serves two shards");
                }
            }
        }
        return new ClusterMap(1, byId, SlotPlanner.initial(new HashRing(byId.keySet())));
    }

    /** Slots being migrated, each to its target shard; empty when no migration is under way. */
    public Map<Integer, String> moving() {
        return moving;
    }

    /** The shard a slot is being migrated to, or null. */
    public @Nullable String targetOf(int slot) {
        return moving.get(slot);
    }

    public long epoch() {
        return epoch;
    }

    /** Shards by id, in id order. */
    public Map<String, Shard> shards() {
        return shards;
    }

    public Optional<SlotAssignment> slots() {
        return Optional.ofNullable(slots);
    }

    /** The shard that owns {@code key}, if the cluster has any. */
    public Optional<Shard> shardFor(byte[] key) {
        return slots == null ? Optional.empty() : Optional.of(shards.get(slots.ownerOf(Slots.of(key))));
    }

    /**
     * Adds a shard. The first shards take their slots at once (there is nothing to copy); a shard
     * joining a running cluster owns nothing until its share of the slots is copied to it: the map
     * names those slots as moving to it.
     */
    public ClusterMap withShardAdded(Shard shard) {
        if (!moving.isEmpty()) {
            throw new IllegalArgumentException("a migration is under way; add the shard when it has ended");
        }
        if (shards.containsKey(shard.id())) {
            throw new IllegalArgumentException("shard " + shard.id() + " already exists");
        }
        for (Shard existing : shards.values()) {
            if (members(existing).stream().anyMatch(members(shard)::contains)) {
                throw new IllegalArgumentException(
                        "a node of shard " + shard.id() + " already serves shard " + existing.id());
            }
        }
        Map<String, Shard> next = new TreeMap<>(shards);
        next.put(shard.id(), shard);
        HashRing ring = new HashRing(next.keySet());
        if (slots == null) {
            return new ClusterMap(epoch + 1, next, SlotPlanner.initial(ring));
        }
        return new ClusterMap(epoch + 1, next, slots, movesTo(SlotPlanner.withShardAdded(slots, shard.id(), ring)));
    }

    /**
     * Starts removing a shard: its slots move to the others (the map names them as moving); the
     * shard leaves the map when the copy is committed. The last shard cannot be removed.
     */
    public ClusterMap withShardRemoved(String shardId) {
        if (!shards.containsKey(shardId)) {
            throw new IllegalArgumentException("no shard " + shardId);
        }
        if (!moving.isEmpty()) {
            throw new IllegalArgumentException("a migration is under way; remove the shard when it has ended");
        }
        if (shards.size() == 1) {
            throw new IllegalArgumentException(
                    "shard " + shardId + " is the last one: its keys would have nowhere to go");
        }
        Set<String> rest = new TreeSet<>(shards.keySet());
        rest.remove(shardId);
        return new ClusterMap(
                epoch + 1, shards, slots, movesTo(SlotPlanner.withShardRemoved(slots, shardId, new HashRing(rest))));
    }

    private Map<Integer, String> movesTo(SlotAssignment after) {
        Map<Integer, String> moves = new TreeMap<>();
        for (int slot : slots.movedTo(after)) {
            moves.put(slot, after.ownerOf(slot));
        }
        return moves;
    }

    /**
     * The copy is done: the moving slots now belong to their targets, and a shard left with no
     * slot (one being removed) leaves the map.
     */
    public ClusterMap withMovesCommitted() {
        if (moving.isEmpty()) {
            throw new IllegalArgumentException("no migration to commit");
        }
        String[] owners = new String[Slots.COUNT];
        for (int slot = 0; slot < Slots.COUNT; slot++) {
            owners[slot] = moving.getOrDefault(slot, slots.ownerOf(slot));
        }
        SlotAssignment after = SlotAssignment.of(owners);
        Map<String, Shard> next = new TreeMap<>(shards);
        next.keySet().retainAll(after.counts().keySet());
        return new ClusterMap(epoch + 1, next, after);
    }

    /** The migration is abandoned: slots stay with their owners, a joining shard leaves the map. */
    public ClusterMap withMovesAborted() {
        Map<String, Shard> next = new TreeMap<>(shards);
        next.keySet().retainAll(slots.counts().keySet());
        return new ClusterMap(epoch + 1, next, slots);
    }

    /** Replaces a shard's primary and replicas (promotion, added replica); slots stay. */
    public ClusterMap withShardMembers(Shard shard) {
        if (!shards.containsKey(shard.id())) {
            throw new IllegalArgumentException("no shard " + shard.id());
        }
        Map<String, Shard> next = new TreeMap<>(shards);
        next.put(shard.id(), shard);
        return new ClusterMap(epoch + 1, next, slots, moving);
    }

    private static List<String> members(Shard shard) {
        List<String> members = new ArrayList<>(shard.replicas());
        members.add(shard.primary());
        return members;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClusterMap m
                && epoch == m.epoch
                && shards.equals(m.shards)
                && java.util.Objects.equals(slots, m.slots)
                && moving.equals(m.moving);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(epoch) * 31 + shards.hashCode();
    }

    @Override
    public String toString() {
        return "ClusterMap[epoch=" + epoch + ", shards=" + shards.keySet() + "]";
    }
}
