package dev.qache.router.ring;

import dev.qache.protocol.Slots;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/** Which shard owns each of the {@value Slots#COUNT} slots. Immutable. */
public final class SlotAssignment {

    private final String[] owners;

    SlotAssignment(String[] owners) {
        if (owners.length != Slots.COUNT) {
            throw new IllegalArgumentException("an assignment covers all " + Slots.COUNT + " slots");
        }
        for (String owner : owners) {
            if (owner == null) {
                throw new IllegalArgumentException("every slot needs an owner");
            }
        }
        this.owners = owners.clone();
    }

    /** Builds one from explicit owners (e.g. read back from the cluster map file). */
    public static SlotAssignment of(String[] owners) {
        return new SlotAssignment(owners);
    }

    public String ownerOf(int slot) {
        return owners[slot];
    }

    /** Slots per shard, by shard id. */
    public Map<String, Integer> counts() {
        Map<String, Integer> counts = new TreeMap<>();
        for (String owner : owners) {
            counts.merge(owner, 1, Integer::sum);
        }
        return counts;
    }

    /** Slots whose owner differs in {@code other}. */
    public int[] movedTo(SlotAssignment other) {
        return java.util.stream.IntStream.range(0, Slots.COUNT)
                .filter(s -> !owners[s].equals(other.owners[s]))
                .toArray();
    }

    String[] ownersCopy() {
        return owners.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SlotAssignment a && Arrays.equals(owners, a.owners);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(owners);
    }
}
