package dev.qache.node.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.qache.protocol.MapDocument;
import dev.qache.protocol.Slots;
import java.nio.charset.StandardCharsets;
import java.util.BitSet;
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

    /** Slots the ownership had dropped as stale, in the order of the calls; cleared by takeStale. */
    private final BitSet stale = new BitSet();

    private int dropStale(int slot) {
        stale.set(slot);
        return 0;
    }

    private BitSet takeStale() {
        BitSet taken = (BitSet) stale.clone();
        stale.clear();
        return taken;
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
        assertThat(ownership.accept(halves(3), "a:1", this::dropStale)).isEqualTo(SlotOwnership.Outcome.ACCEPTED);

        assertThat(ownership.shardId()).isEqualTo("s1");
        assertThat(ownership.misdirectedTo(b(keyInSlotRange(0, Slots.COUNT / 2 - 1))))
                .isNull();
        assertThat(ownership.misdirectedTo(b(keyInSlotRange(Slots.COUNT / 2, Slots.COUNT - 1))))
                .isEqualTo("b:2");
    }

    @Test
    void replica_servesItsShardsSlotsToo() {
        SlotOwnership ownership = new SlotOwnership();
        ownership.accept(halves(3), "r:1", this::dropStale);
        assertThat(ownership.misdirectedTo(b(keyInSlotRange(0, Slots.COUNT / 2 - 1))))
                .isNull();
    }

    @Test
    void olderEpoch_isRefused_andChangesNothing() {
        SlotOwnership ownership = new SlotOwnership();
        ownership.accept(halves(5), "a:1", this::dropStale);

        assertThat(ownership.accept(halves(4), "b:2", this::dropStale)).isEqualTo(SlotOwnership.Outcome.STALE);

        assertThat(ownership.shardId()).isEqualTo("s1");
        assertThat(ownership.epoch()).isEqualTo(5);
    }

    /** {@link #halves} with one change, named by {@code change}, at {@code epoch}. */
    private static MapDocument halvesWith(long epoch, String change) {
        MapDocument.ShardEntry s1 = new MapDocument.ShardEntry("s1", "a:1", List.of("r:1"));
        MapDocument.ShardEntry s2 = new MapDocument.ShardEntry("s2", "b:2", List.of());
        List<MapDocument.SlotRange> slots = halves(epoch).slots();
        List<MapDocument.SlotRange> moving = List.of();
        List<MapDocument.ShardEntry> shards = List.of(s1, s2);
        switch (change) {
            case "none" -> {}
            case "shards listed the other way round" -> shards = List.of(s2, s1);
            case "a range cut in two" ->
                slots = List.of(
                        new MapDocument.SlotRange(0, 99, "s1"),
                        new MapDocument.SlotRange(100, Slots.COUNT / 2 - 1, "s1"),
                        new MapDocument.SlotRange(Slots.COUNT / 2, Slots.COUNT - 1, "s2"));
            case "another primary" -> shards = List.of(new MapDocument.ShardEntry("s1", "r:1", List.of("a:1")), s2);
            case "another replica" -> shards = List.of(new MapDocument.ShardEntry("s1", "a:1", List.of("x:9")), s2);
            case "a slot with another owner" ->
                slots = List.of(
                        new MapDocument.SlotRange(0, Slots.COUNT / 2, "s1"),
                        new MapDocument.SlotRange(Slots.COUNT / 2 + 1, Slots.COUNT - 1, "s2"));
            case "a slot moving" -> moving = List.of(new MapDocument.SlotRange(0, 0, "s2"));
            default -> throw new IllegalArgumentException(change);
        }
        return new MapDocument(epoch, shards, slots, moving);
    }

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> sameEpochRows() {
        return java.util.stream.Stream.of(
                org.junit.jupiter.params.provider.Arguments.of("none", 5, "ACCEPTED"),
                org.junit.jupiter.params.provider.Arguments.of("shards listed the other way round", 5, "ACCEPTED"),
                org.junit.jupiter.params.provider.Arguments.of("a range cut in two", 5, "ACCEPTED"),
                org.junit.jupiter.params.provider.Arguments.of("another primary", 5, "CONFLICT"),
                org.junit.jupiter.params.provider.Arguments.of("another replica", 5, "CONFLICT"),
                org.junit.jupiter.params.provider.Arguments.of("a slot with another owner", 5, "CONFLICT"),
                org.junit.jupiter.params.provider.Arguments.of("a slot moving", 5, "CONFLICT"),
                org.junit.jupiter.params.provider.Arguments.of("another primary", 6, "ACCEPTED"),
                org.junit.jupiter.params.provider.Arguments.of("a slot moving", 4, "STALE"));
    }

    /**
     * After {@code halves(5)}: a map with {@code change} at {@code epoch}. Each epoch has one
     * content: the same epoch saying anything else is refused and changes nothing.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0} at epoch {1}: {2}")
    @org.junit.jupiter.params.provider.MethodSource("sameEpochRows")
    void aMapOfTheSameEpoch_isTakenOnlyIfItSaysTheSame(String change, long epoch, String outcome) {
        SlotOwnership ownership = new SlotOwnership();
        ownership.accept(halves(5), "a:1", this::dropStale);

        assertThat(ownership.accept(halvesWith(epoch, change), "a:1", this::dropStale))
                .isEqualTo(SlotOwnership.Outcome.valueOf(outcome));

        if (!outcome.equals("ACCEPTED")) {
            assertThat(ownership.epoch()).isEqualTo(5);
            assertThat(ownership.map()).isEqualTo(halves(5));
            assertThat(ownership.role()).isEqualTo(SlotOwnership.Role.PRIMARY);
        } else {
            assertThat(ownership.map()).isEqualTo(halvesWith(epoch, change));
        }
    }

    @Test
    void nodeNotInTheMap_servesNothing() {
        SlotOwnership ownership = new SlotOwnership();
        ownership.accept(halves(1), "stranger:9", this::dropStale);
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
        ownership.accept(halves(1), "a:1", this::dropStale);
        assertThat(ownership.pendingDrops().isEmpty()).isTrue();

        ownership.accept(allToS2(2, false), "a:1", this::dropStale);

        assertThat(ownership.pendingDrops().cardinality()).isEqualTo(Slots.COUNT / 2);
        assertThat(ownership.dropIfPending(0, slot -> 7)).isEqualTo(7);
        assertThat(ownership.dropIfPending(0, slot -> 7)).as("dropped once").isEqualTo(-1);
        assertThat(ownership.pendingDrops().cardinality()).isEqualTo(Slots.COUNT / 2 - 1);
        assertThat(takeStale().isEmpty()).isTrue();
    }

    @Test
    void slotsGivenBackBeforeTheirDrop_areReclaimed_andNoLongerPending() {
        SlotOwnership ownership = new SlotOwnership();
        ownership.accept(halves(1), "a:1", this::dropStale);
        ownership.accept(allToS2(2, false), "a:1", this::dropStale);
        ownership.dropIfPending(0, slot -> 0); // the background drop got as far as slot 0

        // The slots come back (importing) before the rest were dropped: their old keys are stale.
        ownership.accept(allToS2(3, true), "a:1", this::dropStale);

        BitSet reclaimed = takeStale();
        // Every slot it starts importing: the one already dropped too (a drop is idempotent).
        assertThat(reclaimed.cardinality()).isEqualTo(Slots.COUNT / 2);
        assertThat(ownership.pendingDrops().isEmpty()).isTrue();
        assertThat(ownership.dropIfPending(1, slot -> 1))
                .as("no longer pending")
                .isEqualTo(-1);
    }

    @Test
    void staleKeysAreDropped_beforeTheSlotIsServed() {
        SlotOwnership ownership = new SlotOwnership();
        ownership.accept(halves(1), "a:1", this::dropStale);
        ownership.accept(allToS2(2, false), "a:1", this::dropStale);
        String key = keyInSlotRange(0, Slots.COUNT / 2 - 1);
        int slotOfKey = Slots.of(b(key));
        boolean[] servedDuringItsDrop = {true};

        ownership.accept(allToS2(3, true), "a:1", slot -> {
            if (slot == slotOfKey) {
                servedDuringItsDrop[0] = ownership.writeMisdirectedTo(b(key)) == null;
            }
            return 0;
        });

        assertThat(servedDuringItsDrop[0])
                .as("a write routed here while the drop runs must not land before it")
                .isFalse();
        assertThat(ownership.writeMisdirectedTo(b(key)))
                .as("served once dropped")
                .isNull();
    }

    @Test
    void aReplicaPromoted_dropsWhatItHoldsOfSlotsItsShardNoLongerOwns() {
        SlotOwnership ownership = new SlotOwnership();
        ownership.accept(halves(1), "r:1", this::dropStale);
        MapDocument promoted = new MapDocument(
                2,
                List.of(
                        new MapDocument.ShardEntry("s1", "r:1", List.of()),
                        new MapDocument.ShardEntry("s2", "b:2", List.of())),
                List.of(
                        new MapDocument.SlotRange(0, Slots.COUNT / 2 - 1, "s1"),
                        new MapDocument.SlotRange(Slots.COUNT / 2, Slots.COUNT - 1, "s2")));

        ownership.accept(promoted, "r:1", this::dropStale);

        assertThat(ownership.pendingDrops().cardinality()).isEqualTo(Slots.COUNT / 2);
        assertThat(ownership.pendingDrops().get(Slots.COUNT / 2)).isTrue();
        assertThat(ownership.pendingDrops().get(0)).isFalse();
        assertThat(takeStale().isEmpty()).as("nothing it serves is dropped").isTrue();
    }

    @Test
    void aNodeJoiningAsATarget_dropsWhatItHeldOfTheSlotsItImports_onlyOnce() {
        SlotOwnership ownership = new SlotOwnership();
        // "a:1" had a map that did not name it (it was removed from the cluster, say).
        ownership.accept(withoutS1(1), "a:1", this::dropStale);
        ownership.accept(allToS2(2, true), "a:1", this::dropStale);
        assertThat(takeStale().cardinality()).isEqualTo(Slots.COUNT / 2);

        ownership.accept(allToS2(3, true), "a:1", this::dropStale); // the same migration, pushed again
        assertThat(takeStale().isEmpty()).as("already importing: nothing new").isTrue();
    }

    @Test
    void aNodeThatNeverHadAMap_keepsWhatItHolds_whenItStartsImporting() {
        SlotOwnership ownership = new SlotOwnership();
        // Whatever it holds came by writes sent to it while this map was on its way: the newest.
        ownership.accept(allToS2(1, true), "a:1", this::dropStale);
        assertThat(takeStale().isEmpty()).isTrue();
    }

    private static MapDocument withoutS1(long epoch) {
        return new MapDocument(
                epoch,
                List.of(new MapDocument.ShardEntry("s2", "b:2", List.of())),
                List.of(new MapDocument.SlotRange(0, Slots.COUNT - 1, "s2")));
    }

    @Test
    void aReplica_dropsNothingOnItsOwn_itFollowsItsPrimarysStream() {
        SlotOwnership ownership = new SlotOwnership();
        ownership.accept(halves(1), "r:1", this::dropStale);
        ownership.accept(allToS2(2, false), "r:1", this::dropStale);
        ownership.accept(allToS2(3, true), "r:1", this::dropStale);

        assertThat(ownership.pendingDrops().isEmpty()).isTrue();
        assertThat(takeStale().isEmpty()).isTrue();
    }

    @Test
    void aPrimaryWhoseShardLeftTheMap_dropsAll_andStartsEmptyWhenAddedAgain() {
        SlotOwnership ownership = new SlotOwnership();
        ownership.accept(halves(1), "a:1", this::dropStale);
        MapDocument withoutS1 = new MapDocument(
                2,
                List.of(new MapDocument.ShardEntry("s2", "b:2", List.of())),
                List.of(new MapDocument.SlotRange(0, Slots.COUNT - 1, "s2")));

        ownership.accept(withoutS1, "a:1", this::dropStale);
        assertThat(ownership.pendingDrops().cardinality()).isEqualTo(Slots.COUNT / 2);

        // Added again before the background drop ran: what it held goes before the ack.
        ownership.accept(allToS2(3, true), "a:1", this::dropStale);
        assertThat(takeStale().cardinality()).isEqualTo(Slots.COUNT / 2);
        assertThat(ownership.pendingDrops().isEmpty()).isTrue();
    }
}
