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
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * The cluster map: the epoch, the shards with their primary and replicas, and which shard owns each
 * slot. Immutable; every change returns a new map with the epoch one higher, so "newer" is just a
 * larger epoch (the fencing token nodes compare).
 *
 * <p>Until online rebalancing lands, a change of shards moves slot ownership at once; keys of the
 * moved slots stay on their old owner, unreachable (a cache miss), rather than being copied.
 */
public final class ClusterMap {

    private final long epoch;
    private final Map<String, Shard> shards;
    private final @Nullable SlotAssignment slots;

    ClusterMap(long epoch, Map<String, Shard> shards, @Nullable SlotAssignment slots) {
        if (epoch < 0) {
            throw new IllegalArgumentException("negative epoch");
        }
        if (shards.isEmpty() != (slots == null)) {
            throw new IllegalArgumentException("slots are owned exactly when there are shards");
        }
        if (slots != null && !slots.counts().keySet().equals(shards.keySet())) {
            throw new IllegalArgumentException(
                    "slot owners " + slots.counts().keySet() + " are not the shards " + shards.keySet());
        }
        this.epoch = epoch;
        this.shards = Collections.unmodifiableMap(new TreeMap<>(shards));
        this.slots = slots;
    }

    public static ClusterMap empty() {
        return new ClusterMap(0, Map.of(), null);
    }

    /** Rebuilds a map read back from its durable form; checks that it is consistent. */
    public static ClusterMap restore(long epoch, List<Shard> shards, @Nullable SlotAssignment slots) {
        Map<String, Shard> byId = new LinkedHashMap<>();
        for (Shard shard : shards) {
            if (byId.put(shard.id(), shard) != null) {
                throw new IllegalArgumentException("shard " + shard.id() + " appears twice");
            }
        }
        return new ClusterMap(epoch, byId, slots);
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

    public ClusterMap withShardAdded(Shard shard) {
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
        SlotAssignment nextSlots =
                slots == null ? SlotPlanner.initial(ring) : SlotPlanner.withShardAdded(slots, shard.id(), ring);
        return new ClusterMap(epoch + 1, next, nextSlots);
    }

    public ClusterMap withShardRemoved(String shardId) {
        if (!shards.containsKey(shardId)) {
            throw new IllegalArgumentException("no shard " + shardId);
        }
        Map<String, Shard> next = new TreeMap<>(shards);
        next.remove(shardId);
        SlotAssignment nextSlots =
                next.isEmpty() ? null : SlotPlanner.withShardRemoved(slots, shardId, new HashRing(next.keySet()));
        return new ClusterMap(epoch + 1, next, nextSlots);
    }

    /** Replaces a shard's primary and replicas (promotion, added replica); slots stay. */
    public ClusterMap withShardMembers(Shard shard) {
        if (!shards.containsKey(shard.id())) {
            throw new IllegalArgumentException("no shard " + shard.id());
        }
        Map<String, Shard> next = new TreeMap<>(shards);
        next.put(shard.id(), shard);
        return new ClusterMap(epoch + 1, next, slots);
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
                && java.util.Objects.equals(slots, m.slots);
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
