package dev.qache.protocol;

import java.util.List;

/**
 * The cluster map as it travels: written by the router to its file and pushed to every node
 * ({@code PUT /_internal/cluster-map}), read back by both.
 *
 * <pre>{@code
 * {"format": 2, "epoch": 7,
 *  "shards": [{"id": "s1", "primary": "10.0.0.1:7001", "replicas": ["10.0.0.2:7001"]}],
 *  "slots": [{"from": 0, "to": 5461, "shard": "s1"}, ...]}
 * }</pre>
 *
 * Slot ranges are inclusive and cover 0 to 16383 exactly once, in order (empty when there are no
 * shards).
 */
public record MapDocument(
        int format, long epoch, List<ShardEntry> shards, List<SlotRange> slots, List<SlotRange> moving) {

    /**
     * The map's format: 2 added {@code moving} (1, unnamed, had no migrations) and {@code format}
     * itself. A reader ignores members it does not know; a node refuses a map of a newer format
     * than its own, whose new members might change what the map means (as {@code moving} did).
     * A map without {@code format} (0, from a router of before it) reads as format 2.
     */
    public static final int FORMAT = 2;

    /** A map of this release's format. */
    public MapDocument(long epoch, List<ShardEntry> shards, List<SlotRange> slots, List<SlotRange> moving) {
        this(FORMAT, epoch, shards, slots, moving);
    }

    /** A map with no migration under way. */
    public MapDocument(long epoch, List<ShardEntry> shards, List<SlotRange> slots) {
        this(epoch, shards, slots, List.of());
    }

    /** Whether a reader of this release can honour this map: not of a newer format than {@link #FORMAT}. */
    public boolean readable() {
        return format <= FORMAT;
    }

    /**
     * The target shard of each slot being migrated (null where none), from {@code moving}: ranges
     * of slots whose keys are being copied from their owner in {@code slots} to the range's shard.
     * Until the copy ends and a new map flips them, writes of those slots go to the target, reads
     * try the target and then the owner, deletes go to both.
     */
    public String[] slotTargets() {
        String[] targets = new String[Slots.COUNT];
        if (moving == null) {
            return targets;
        }
        java.util.Set<String> ids = new java.util.HashSet<>();
        for (ShardEntry shard : shards == null ? List.<ShardEntry>of() : shards) {
            ids.add(shard.id());
        }
        for (SlotRange range : moving) {
            if (range.from() < 0 || range.to() < range.from() || range.to() >= Slots.COUNT) {
                throw new IllegalArgumentException("bad moving range " + range);
            }
            if (!ids.contains(range.shard())) {
                throw new IllegalArgumentException("moving range " + range + " names an unknown shard");
            }
            java.util.Arrays.fill(targets, range.from(), range.to() + 1, range.shard());
        }
        return targets;
    }

    /**
     * Whether {@code other} says the same as this map: the same epoch, the same shards (in any
     * order, each with the same primary and replicas) and the same owner and migration target for
     * every slot, however its ranges are cut. Two maps of one epoch that differ are a split brain:
     * each epoch has one content.
     */
    public boolean sameAs(MapDocument other) {
        if (epoch != other.epoch) {
            return false;
        }
        if (equals(other)) {
            return true; // the usual case: the router's periodic push of the map the node holds
        }
        java.util.Map<String, ShardEntry> mine = byId();
        java.util.Map<String, ShardEntry> theirs = other.byId();
        return mine.equals(theirs)
                && java.util.Arrays.equals(slotOwners(), other.slotOwners())
                && java.util.Arrays.equals(slotTargets(), other.slotTargets());
    }

    private java.util.Map<String, ShardEntry> byId() {
        java.util.Map<String, ShardEntry> byId = new java.util.HashMap<>();
        for (ShardEntry shard : shards == null ? List.<ShardEntry>of() : shards) {
            byId.put(shard.id(), new ShardEntry(shard.id(), shard.primary(), List.copyOf(shard.replicas())));
        }
        return byId;
    }

    /** One shard: its id, its primary and its replicas, each {@code host:port}. */
    public record ShardEntry(String id, String primary, List<String> replicas) {}

    /** A run of consecutive slots with one owner, bounds inclusive. */
    public record SlotRange(int from, int to, String shard) {}

    /**
     * The owner of each slot, checked: ranges in order, without gaps or overlaps, naming only
     * shards of this map.
     */
    public String[] slotOwners() {
        String[] owners = new String[Slots.COUNT];
        if (slots == null || slots.isEmpty()) {
            return owners;
        }
        java.util.Set<String> ids = new java.util.HashSet<>();
        for (ShardEntry shard : shards == null ? List.<ShardEntry>of() : shards) {
            ids.add(shard.id());
        }
        int next = 0;
        for (SlotRange range : slots) {
            if (range.from() != next || range.to() < range.from() || range.to() >= Slots.COUNT) {
                throw new IllegalArgumentException("slot ranges must cover 0.." + (Slots.COUNT - 1)
                        + " in order without gaps; bad range " + range);
            }
            if (!ids.contains(range.shard())) {
                throw new IllegalArgumentException("slot range " + range + " names an unknown shard");
            }
            java.util.Arrays.fill(owners, range.from(), range.to() + 1, range.shard());
            next = range.to() + 1;
        }
        if (next != Slots.COUNT) {
            throw new IllegalArgumentException("slot ranges end at " + (next - 1) + ", not " + (Slots.COUNT - 1));
        }
        return owners;
    }
}
