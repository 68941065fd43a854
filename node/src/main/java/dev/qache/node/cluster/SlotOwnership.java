package dev.qache.node.cluster;

import dev.qache.protocol.MapDocument;
import dev.qache.protocol.Slots;
import java.util.BitSet;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/**
 * Which slots this node serves, learnt from the cluster map the router pushes. Until a map arrives
 * the node serves every key (a standalone node); afterwards only its shard's slots, and names the
 * owner's primary for the others (the data API answers 421).
 *
 * <p>Maps are accepted only with an epoch at least the current one, so a delayed push of an old map
 * can never roll the node back (fencing).
 */
public final class SlotOwnership {

    /** What a pushed map did. */
    public enum Outcome {
        ACCEPTED,
        /** Older than the map this node already has: ignored. */
        STALE
    }

    /**
     * @param shardId this node's shard, or null when the map does not name this node
     * @param owned slots this node serves
     * @param primaryBySlot the owner's primary for every slot
     */
    record View(long epoch, @Nullable String shardId, BitSet owned, String[] primaryBySlot) {}

    private final AtomicReference<@Nullable View> view = new AtomicReference<>();

    /** Applies a pushed map; {@code self} is this node's address as the map names it. */
    public synchronized Outcome accept(MapDocument map, String self) {
        View current = view.get();
        if (current != null && map.epoch() < current.epoch()) {
            return Outcome.STALE;
        }
        String[] owners = map.slotOwners();
        String shardId = null;
        java.util.Map<String, String> primaries = new java.util.HashMap<>();
        for (MapDocument.ShardEntry shard : map.shards()) {
            primaries.put(shard.id(), shard.primary());
            if (shard.primary().equals(self) || shard.replicas().contains(self)) {
                shardId = shard.id();
            }
        }
        BitSet owned = new BitSet(Slots.COUNT);
        String[] primaryBySlot = new String[Slots.COUNT];
        for (int slot = 0; slot < Slots.COUNT; slot++) {
            if (owners[slot] != null) {
                primaryBySlot[slot] = primaries.get(owners[slot]);
                if (owners[slot].equals(shardId)) {
                    owned.set(slot);
                }
            }
        }
        view.set(new View(map.epoch(), shardId, owned, primaryBySlot));
        return Outcome.ACCEPTED;
    }

    /** The primary that owns {@code key} when this node does not, else null (serve it here). */
    public @Nullable String misdirectedTo(byte[] key) {
        View v = view.get();
        if (v == null) {
            return null;
        }
        int slot = Slots.of(key);
        return v.owned.get(slot) ? null : v.primaryBySlot[slot];
    }

    /** The epoch of the map in force, or -1 before any. */
    public long epoch() {
        View v = view.get();
        return v == null ? -1 : v.epoch;
    }

    /** This node's shard in the map in force, or null. */
    public @Nullable String shardId() {
        View v = view.get();
        return v == null ? null : v.shardId;
    }
}
