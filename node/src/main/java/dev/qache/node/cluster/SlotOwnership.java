package dev.qache.node.cluster;

import dev.qache.protocol.MapDocument;
import dev.qache.protocol.Slots;
import java.util.BitSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntUnaryOperator;
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
        STALE,
        /**
         * Of this node's epoch but saying something else (a second router, or one that lost its
         * state, numbering its own changes): refused, since each epoch has one content.
         */
        CONFLICT
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
    private @Nullable MapDocument accepted;

    /**
     * Slots maps took away from this node's shard whose keys are not dropped yet; guarded by this.
     * A slot leaves this set when its keys are dropped, or when a later map gives it back first.
     */
    private final BitSet pendingDrop = new BitSet();

    /** The slots whose keys are to be dropped (a migration moved them away), as of now. */
    public synchronized BitSet pendingDrops() {
        return (BitSet) pendingDrop.clone();
    }

    /**
     * Drops the keys of {@code slot} with {@code drop} if they are still to be dropped, under this
     * object's lock: a map that gives the slot back waits until the drop is over, so no write the
     * slot takes afterwards can be dropped with it. Returns the keys dropped, or -1 when the slot
     * was not pending.
     */
    public synchronized int dropIfPending(int slot, IntUnaryOperator drop) {
        if (!pendingDrop.get(slot)) {
            return -1;
        }
        int keys = drop.applyAsInt(slot);
        pendingDrop.clear(slot);
        return keys;
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

    /**
     * Whether this node may hand out the keys of {@code slot} to a migration's target: it is the
     * primary of the shard that owns the slot (not a target importing it). A node without a map
     * serves every key.
     */
    public boolean exports(int slot) {
        View v = view.get();
        return v == null || (v.role == Role.PRIMARY && v.owned.get(slot) && !v.importing.get(slot));
    }

    /**
     * Applies a pushed map; {@code self} is this node's address as the map names it.
     *
     * <p>Before the new map takes effect, {@code dropStale} drops the keys of every slot this
     * shard is about to serve whose keys in the store are stale: a slot given back while its drop
     * was pending (its writes went elsewhere meanwhile), or a slot it starts importing without
     * having owned it (keys left from an earlier membership would shadow the copy, which never
     * overwrites). Such a slot takes no request until its drop is over, whoever routes to it.
     */
    public synchronized Outcome accept(MapDocument map, String self, IntUnaryOperator dropStale) {
        View current = view.get();
        if (current != null && map.epoch() < current.epoch()) {
            return Outcome.STALE;
        }
        if (conflicts(map)) {
            return Outcome.CONFLICT;
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
        if (role == Role.REPLICA) {
            // A replica's store follows its primary's stream, drops included (they replicate as
            // deletes); dropping on its own it could remove keys the stream has already brought.
            pendingDrop.clear();
        } else {
            if (previous != null && previous.shardId != null) {
                BitSet dropped = (BitSet) previous.owned.clone();
                dropped.andNot(owned);
                pendingDrop.or(dropped); // a node the map no longer names drops all it held
                if (previous.role == Role.REPLICA && role == Role.PRIMARY) {
                    // Promoted: its old primary's drops may not all have reached it.
                    BitSet notOwned = new BitSet(Slots.COUNT);
                    notOwned.set(0, Slots.COUNT);
                    notOwned.andNot(owned);
                    pendingDrop.or(notOwned);
                }
            }
            BitSet stale = (BitSet) pendingDrop.clone();
            stale.and(owned);
            pendingDrop.andNot(owned);
            // A node that never had a map holds no cluster data: what it holds came by a write the
            // router sent it while this very map was on its way, and is the newest there is.
            if (previous != null) {
                BitSet fresh = (BitSet) importing.clone();
                if (previous.shardId != null && previous.shardId.equals(shardId)) {
                    fresh.andNot(previous.owned);
                }
                stale.or(fresh);
            }
            for (int slot = stale.nextSetBit(0); slot >= 0; slot = stale.nextSetBit(slot + 1)) {
                dropStale.applyAsInt(slot);
            }
        }
        view.set(new View(
                map.epoch(), self, shardId, role, primary, owned, importing, primaryBySlot, writeShard, primaries));
        accepted = map;
        return Outcome.ACCEPTED;
    }

    /** Whether {@code map} has this node's epoch but other content than the map it accepted. */
    public synchronized boolean conflicts(MapDocument map) {
        MapDocument mine = accepted;
        return mine != null && map.epoch() == mine.epoch() && !mine.sameAs(map);
    }

    /** The last map this node accepted, as it came; null before the first. */
    public synchronized @Nullable MapDocument map() {
        return accepted;
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
