package dev.qache.node.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.qache.protocol.MapDocument;
import dev.qache.protocol.Slots;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

public class SlotOwnershipTest {

    /** s1 (primary "a:1", replica "r:1") owns the lower half of the slots, s2 ("b:2") the upper. */
    public static MapDocument halves(long epoch) {
        return new MapDocument(
                epoch,
                List.of(
                        new MapDocument.ShardEntry("s1", "a:1", List.of("r:1")),
                        new MapDocument.ShardEntry("s2", "b:2", List.of())),
                List.of(
                        new MapDocument.SlotRange(0, Slots.COUNT / 2 - 1, "s1"),
                        new MapDocument.SlotRange(Slots.COUNT / 2, Slots.COUNT - 1, "s2")));
    }

    public static String keyInSlotRange(int from, int to) {
        for (int i = 0; ; i++) {
            int slot = Slots.of(("k" + i).getBytes(StandardCharsets.UTF_8));
            if (slot >= from && slot <= to) {
                return "k" + i;
            }
        }
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void beforeAnyMap_everyKeyIsServedHere() {
        SlotOwnership ownership = new SlotOwnership();
        assertThat(ownership.misdirectedTo(b("anything"))).isNull();
        assertThat(ownership.epoch()).isEqualTo(-1);
    }

    @Test
    void withMap_ownSlotsAreServed_othersNameTheOwnersPrimary() {
        SlotOwnership ownership = new SlotOwnership();
        assertThat(ownership.accept(halves(3), "a:1")).isEqualTo(SlotOwnership.Outcome.ACCEPTED);

        assertThat(ownership.shardId()).isEqualTo("s1");
        assertThat(ownership.misdirectedTo(b(keyInSlotRange(0, Slots.COUNT / 2 - 1))))
                .isNull();
        assertThat(ownership.misdirectedTo(b(keyInSlotRange(Slots.COUNT / 2, Slots.COUNT - 1))))
                .isEqualTo("b:2");
    }

    @Test
    void replica_servesItsShardsSlotsToo() {
        SlotOwnership ownership = new SlotOwnership();
        ownership.accept(halves(3), "r:1");
        assertThat(ownership.misdirectedTo(b(keyInSlotRange(0, Slots.COUNT / 2 - 1))))
                .isNull();
    }

    @Test
    void olderEpoch_isRefused_andChangesNothing() {
        SlotOwnership ownership = new SlotOwnership();
        ownership.accept(halves(5), "a:1");

        assertThat(ownership.accept(halves(4), "b:2")).isEqualTo(SlotOwnership.Outcome.STALE);

        assertThat(ownership.shardId()).isEqualTo("s1");
        assertThat(ownership.epoch()).isEqualTo(5);
    }

    @Test
    void nodeNotInTheMap_servesNothing() {
        SlotOwnership ownership = new SlotOwnership();
        ownership.accept(halves(1), "stranger:9");
        assertThat(ownership.misdirectedTo(b("k1"))).isIn("a:1", "b:2");
    }

    /** {@link #halves} with every slot of s1 owned by s2 ({@code moving} empty), or moving back to s1. */
    private static MapDocument allToS2(long epoch, boolean movingBack) {
        List<MapDocument.SlotRange> all = List.of(new MapDocument.SlotRange(0, Slots.COUNT - 1, "s2"));
        return new MapDocument(
                epoch,
                halves(epoch).shards(),
                all,
                movingBack ? List.of(new MapDocument.SlotRange(0, Slots.COUNT / 2 - 1, "s1")) : List.of());
    }

    @Test
    void slotsTakenAway_arePendingDrop_untilDropped() {
        SlotOwnership ownership = new SlotOwnership();
        ownership.accept(halves(1), "a:1");
        assertThat(ownership.pendingDrops().isEmpty()).isTrue();

        ownership.accept(allToS2(2, false), "a:1");

        assertThat(ownership.pendingDrops().cardinality()).isEqualTo(Slots.COUNT / 2);
        assertThat(ownership.dropPending(0)).isTrue();
        ownership.dropped(0);
        assertThat(ownership.dropPending(0)).isFalse();
        assertThat(ownership.pendingDrops().cardinality()).isEqualTo(Slots.COUNT / 2 - 1);
        assertThat(ownership.takeReclaimed().isEmpty()).isTrue();
    }

    @Test
    void slotsGivenBackBeforeTheirDrop_areReclaimed_andNoLongerPending() {
        SlotOwnership ownership = new SlotOwnership();
        ownership.accept(halves(1), "a:1");
        ownership.accept(allToS2(2, false), "a:1");
        ownership.dropped(0); // the background drop got as far as slot 0

        // The slots come back (importing) before the rest were dropped: their old keys are stale.
        ownership.accept(allToS2(3, true), "a:1");

        java.util.BitSet reclaimed = ownership.takeReclaimed();
        assertThat(reclaimed.cardinality()).isEqualTo(Slots.COUNT / 2 - 1);
        assertThat(reclaimed.get(0)).isFalse();
        assertThat(ownership.pendingDrops().isEmpty()).isTrue();
        assertThat(ownership.takeReclaimed().isEmpty()).as("taking clears").isTrue();
    }
}
