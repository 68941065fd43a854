package dev.qache.router.cluster;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qache.protocol.Slots;
import dev.qache.router.ring.SlotAssignment;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The cluster map's JSON form, used for the durable file and for pushing the map to nodes:
 *
 * <pre>{@code
 * {"epoch": 7,
 *  "shards": [{"id": "s1", "primary": "10.0.0.1:7001", "replicas": ["10.0.0.2:7001"]}],
 *  "slots": [{"from": 0, "to": 5461, "shard": "s1"}, ...]}
 * }</pre>
 *
 * Slot ranges are inclusive and cover 0 to 16383 exactly once, in order.
 */
public final class ClusterMapJson {

    /** A run of consecutive slots with one owner, bounds inclusive. */
    public record SlotRange(int from, int to, String shard) {}

    /** The wire form. */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Document(long epoch, List<Shard> shards, List<SlotRange> slots) {}

    private static final ObjectMapper MAPPER =
            new ObjectMapper().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private ClusterMapJson() {}

    public static Document toDocument(ClusterMap map) {
        List<SlotRange> ranges = new ArrayList<>();
        map.slots().ifPresent(slots -> {
            int from = 0;
            for (int slot = 1; slot <= Slots.COUNT; slot++) {
                if (slot == Slots.COUNT || !slots.ownerOf(slot).equals(slots.ownerOf(from))) {
                    ranges.add(new SlotRange(from, slot - 1, slots.ownerOf(from)));
                    from = slot;
                }
            }
        });
        return new Document(map.epoch(), List.copyOf(map.shards().values()), ranges);
    }

    public static ClusterMap fromDocument(Document document) {
        SlotAssignment slots = null;
        if (document.slots() != null && !document.slots().isEmpty()) {
            String[] owners = new String[Slots.COUNT];
            int next = 0;
            for (SlotRange range : document.slots()) {
                if (range.from() != next || range.to() < range.from() || range.to() >= Slots.COUNT) {
                    throw new IllegalArgumentException("slot ranges must cover 0.." + (Slots.COUNT - 1)
                            + " in order without gaps; bad range " + range);
                }
                for (int s = range.from(); s <= range.to(); s++) {
                    owners[s] = range.shard();
                }
                next = range.to() + 1;
            }
            if (next != Slots.COUNT) {
                throw new IllegalArgumentException("slot ranges end at " + (next - 1) + ", not " + (Slots.COUNT - 1));
            }
            slots = SlotAssignment.of(owners);
        }
        return ClusterMap.restore(document.epoch(), document.shards() == null ? List.of() : document.shards(), slots);
    }

    public static byte[] write(ClusterMap map) {
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(toDocument(map));
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialize the cluster map", e);
        }
    }

    public static ClusterMap read(byte[] json) throws IOException {
        return fromDocument(MAPPER.readValue(json, Document.class));
    }
}
