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
    /** What this node is in its shard. */
    public enum Role {
        PRIMARY,
        REPLICA,
        NONE
    }

    record View(
            long epoch,
            String self,
            @Nullable String shardId,
            Role role,
            @Nullable String primary,
            BitSet owned,
            BitSet importing,
            String[] primaryBySlot,
            String[] writeShard,
            java.util.Map<String, String> primaries) {}

    private final AtomicReference<@Nullable View> view = new AtomicReference<>();

    /**
     * Slots maps took away from this node's shard whose keys are not dropped yet; guarded by this.
     * A slot leaves this set when its keys are dropped, or when a later map gives it back first.
     */
    private final BitSet pendingDrop = new BitSet();

    /** Slots given back to this shard while their drop was still pending; guarded by this. */
    private final BitSet reclaimed = new BitSet();

    /** The slots whose keys are to be dropped (a migration moved them away), as of now. */
    public synchronized BitSet pendingDrops() {
        return (BitSet) pendingDrop.clone();
    }

    /** Whether the keys of {@code slot} are still to be dropped. */
    public synchronized boolean dropPending(int slot) {
        return pendingDrop.get(slot);
    }

    /** The keys of {@code slot} were dropped. */
    public synchronized void dropped(int slot) {
        pendingDrop.clear(slot);
    }

    /**
     * Slots a map gave back to this shard before their old keys were dropped: those keys are stale
     * (the slot's writes went elsewhere meanwhile) and must go before the slot is served or
     * imported again. Taking them clears the set.
     */
    public synchronized BitSet takeReclaimed() {
        BitSet taken = (BitSet) reclaimed.clone();
        reclaimed.clear();
        return taken;
    }

    /** Whether any slot is being copied to this node's shard: a cheap test before hashing a key. */
    public boolean importingAny() {
        View v = view.get();
        return v != null && !v.importing.isEmpty();
    }

    /** Whether keys of this slot are being copied to this node's shard (a migration). */
    public boolean importing(int slot) {
        View v = view.get();
        return v != null && v.importing.get(slot);
    }

    /** Applies a pushed map; {@code self} is this node's address as the map names it. */
    public synchronized Outcome accept(MapDocument map, String self) {
        View current = view.get();
        if (current != null && map.epoch() < current.epoch()) {
            return Outcome.STALE;
        }
        String[] owners = map.slotOwners();
        String[] targets = map.slotTargets();
        String shardId = null;
        Role role = Role.NONE;
        String primary = null;
        java.util.Map<String, String> primaries = new java.util.HashMap<>();
        for (MapDocument.ShardEntry shard : map.shards()) {
            primaries.put(shard.id(), shard.primary());
            if (shard.primary().equals(self) || shard.replicas().contains(self)) {
                shardId = shard.id();
                role = shard.primary().equals(self) ? Role.PRIMARY : Role.REPLICA;
                primary = shard.primary();
            }
        }
        BitSet owned = new BitSet(Slots.COUNT);
        BitSet importing = new BitSet(Slots.COUNT);
        String[] primaryBySlot = new String[Slots.COUNT];
        String[] writeShard = new String[Slots.COUNT];
        for (int slot = 0; slot < Slots.COUNT; slot++) {
            if (owners[slot] != null) {
                primaryBySlot[slot] = primaries.get(owners[slot]);
                writeShard[slot] = targets[slot] == null ? owners[slot] : targets[slot];
                if (owners[slot].equals(shardId)) {
                    owned.set(slot);
                }
                if (targets[slot] != null && targets[slot].equals(shardId)) {
                    owned.set(slot);
                    importing.set(slot);
                }
            }
        }
        View previous = view.get();
        view.set(new View(
                map.epoch(), self, shardId, role, primary, owned, importing, primaryBySlot, writeShard, primaries));
        if (previous != null && previous.shardId != null) {
            BitSet dropped = (BitSet) previous.owned.clone();
            dropped.andNot(owned);
            pendingDrop.or(dropped);
        }
        BitSet back = (BitSet) pendingDrop.clone();
        back.and(owned);
        reclaimed.or(back);
        pendingDrop.andNot(owned);
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

    /**
     * Where a write of {@code key} belongs when not here: the primary of the shard that takes the
     * slot's writes (its owner, or during a migration its target), or this shard's primary when
     * this node is a replica; null when this node takes it.
     */
    public @Nullable String writeMisdirectedTo(byte[] key) {
        View v = view.get();
        if (v == null) {
            return null;
        }
        String shard = v.writeShard[Slots.of(key)];
        if (shard == null || shard.equals(v.shardId)) {
            return v.role == Role.REPLICA ? v.primary : null;
        }
        return v.primaries.get(shard);
    }

    /**
     * Where a delete of {@code key} belongs when not here. Deletes of a migrating slot go to both
     * its source and its target, so a primary that serves the slot (owner or target) takes them.
     */
    public @Nullable String deleteMisdirectedTo(byte[] key) {
        View v = view.get();
        if (v == null) {
            return null;
        }
        int slot = Slots.of(key);
        if (!v.owned.get(slot)) {
            return v.primaries.get(v.writeShard[slot]);
        }
        return v.role == Role.REPLICA ? v.primary : null;
    }

    public Role role() {
        View v = view.get();
        return v == null ? Role.NONE : v.role;
    }

    /** This shard's primary (this node itself when it is the primary), or null. */
    public @Nullable String primary() {
        View v = view.get();
        return v == null ? null : v.primary;
    }

    /** This node's address as the last map named it, or null before any map. */
    public @Nullable String self() {
        View v = view.get();
        return v == null ? null : v.self;
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
