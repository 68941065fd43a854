package dev.qache.router.cluster;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qache.protocol.MapDocument;
import dev.qache.protocol.Slots;
import dev.qache.router.ring.SlotAssignment;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Converts the cluster map to and from its JSON form, {@link MapDocument}. Members it does not know
 * are ignored (DESIGN.md: every internal JSON reader does), so a map written by a newer router
 * still loads.
 */
public final class ClusterMapJson {

    private static final ObjectMapper MAPPER =
            new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private ClusterMapJson() {}

    public static MapDocument toDocument(ClusterMap map) {
        List<MapDocument.SlotRange> ranges = new ArrayList<>();
        map.slots().ifPresent(slots -> {
            int from = 0;
            for (int slot = 1; slot <= Slots.COUNT; slot++) {
                if (slot == Slots.COUNT || !slots.ownerOf(slot).equals(slots.ownerOf(from))) {
                    ranges.add(new MapDocument.SlotRange(from, slot - 1, slots.ownerOf(from)));
                    from = slot;
                }
            }
        });
        List<MapDocument.ShardEntry> shards = map.shards().values().stream()
                .map(s -> new MapDocument.ShardEntry(s.id(), s.primary(), s.replicas()))
                .toList();
        List<MapDocument.SlotRange> moving = new ArrayList<>();
        int start = -1;
        String target = null;
        for (int slot = 0; slot <= Slots.COUNT; slot++) {
            String t = slot == Slots.COUNT ? null : map.targetOf(slot);
            if (target != null && !target.equals(t)) {
                moving.add(new MapDocument.SlotRange(start, slot - 1, target));
                target = null;
            }
            if (t != null && target == null) {
                start = slot;
                target = t;
            }
        }
        return new MapDocument(map.epoch(), shards, ranges, moving);
    }

    public static ClusterMap fromDocument(MapDocument document) {
        List<Shard> shards = document.shards() == null
                ? List.of()
                : document.shards().stream()
                        .map(s -> new Shard(s.id(), s.primary(), s.replicas()))
                        .toList();
        SlotAssignment slots = shards.isEmpty() ? null : SlotAssignment.of(document.slotOwners());
        Map<Integer, String> moving = new TreeMap<>();
        String[] targets = document.slotTargets();
        for (int slot = 0; slot < targets.length; slot++) {
            if (targets[slot] != null) {
                moving.put(slot, targets[slot]);
            }
        }
        return ClusterMap.restore(document.epoch(), shards, slots, moving);
    }

    public static byte[] write(ClusterMap map) {
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(toDocument(map));
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialize the cluster map", e);
        }
    }

    public static ClusterMap read(byte[] json) throws IOException {
        return fromDocument(MAPPER.readValue(json, MapDocument.class));
    }
}
