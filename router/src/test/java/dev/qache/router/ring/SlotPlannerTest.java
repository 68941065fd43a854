package dev.qache.router.ring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import dev.qache.protocol.Slots;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SlotPlannerTest {

    private static List<String> shards(int n) {
        return IntStream.range(0, n).mapToObj(i -> "shard-" + i).toList();
    }

    private static double mean(SlotAssignment a) {
        return (double) Slots.COUNT / a.counts().size();
    }

    private static int largest(SlotAssignment a) {
        return Collections.max(a.counts().values());
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 10, 100})
    void initial_largestShardAtMostTwoPercentAboveMean(int n) {
        SlotAssignment a = SlotPlanner.initial(new HashRing(shards(n)));

        assertThat(a.counts()).hasSize(n);
        assertThat((double) largest(a)).isLessThanOrEqualTo(mean(a) * 1.02);
        assertThat(a.counts().values()).allSatisfy(c -> assertThat(c).isBetween(Slots.COUNT / n, Slots.COUNT / n + 1));
        assertThat(a.counts().values().stream().mapToInt(Integer::intValue).sum())
                .isEqualTo(Slots.COUNT);
    }

    @Test
    void initial_isDeterministicAndIndependentOfInputOrder() {
        List<String> shuffled = new ArrayList<>(shards(10));
        Collections.shuffle(shuffled, new java.util.Random(7));

        assertThat(SlotPlanner.initial(new HashRing(shuffled)))
                .isEqualTo(SlotPlanner.initial(new HashRing(shards(10))));
    }

    @Test
    void initial_followsTheRingWhereCapacityAllows() {
        // Unbounded, the ring would give every slot to its clockwise owner; bounded loads only
        // move overflow, so most slots still sit with their ring owner.
        HashRing ring = new HashRing(shards(10));
        SlotAssignment a = SlotPlanner.initial(ring);

        long onRingOwner = IntStream.range(0, Slots.COUNT)
                .filter(s -> a.ownerOf(s).equals(ring.ownerOf(Slots.point(s))))
                .count();
        assertThat(onRingOwner).isGreaterThan(Slots.COUNT * 8L / 10);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 9, 10, 99})
    void withShardAdded_movesOnlyToNewShard_atMostTenPercentAboveIdeal(int n) {
        SlotAssignment before = SlotPlanner.initial(new HashRing(shards(n)));
        List<String> grown = new ArrayList<>(shards(n));
        grown.add("new");

        SlotAssignment after = SlotPlanner.withShardAdded(before, "new", new HashRing(grown));

        int[] moved = before.movedTo(after);
        assertThat(moved.length).isLessThanOrEqualTo((int) (1.1 * Slots.COUNT / (n + 1)));
        assertThat(moved.length).as("the new shard gets exactly its share").isEqualTo(Slots.COUNT / (n + 1));
        for (int slot : moved) {
            assertThat(after.ownerOf(slot)).isEqualTo("new");
        }
        assertThat((double) largest(after)).isLessThanOrEqualTo(mean(after) * 1.02);
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 10, 100})
    void withShardRemoved_movesOnlyItsSlots_andStaysBalanced(int n) {
        SlotAssignment before = SlotPlanner.initial(new HashRing(shards(n)));
        String leaving = "shard-1";
        List<String> shrunk = new ArrayList<>(shards(n));
        shrunk.remove(leaving);

        SlotAssignment after = SlotPlanner.withShardRemoved(before, leaving, new HashRing(shrunk));

        int[] moved = before.movedTo(after);
        assertThat(moved.length).isEqualTo(before.counts().get(leaving));
        for (int slot : moved) {
            assertThat(before.ownerOf(slot)).isEqualTo(leaving);
        }
        assertThat(after.counts()).doesNotContainKey(leaving);
        assertThat((double) largest(after)).isLessThanOrEqualTo(mean(after) * 1.02);
    }

    @Test
    void joinsAndLeaves_inSequence_keepBalanceAndMinimalMovement() {
        List<String> members = new ArrayList<>(shards(3));
        SlotAssignment a = SlotPlanner.initial(new HashRing(members));
        for (int i = 0; i < 8; i++) {
            String joining = "late-" + i;
            members.add(joining);
            SlotAssignment next = SlotPlanner.withShardAdded(a, joining, new HashRing(members));
            assertThat(a.movedTo(next).length).isLessThanOrEqualTo((int) (1.1 * Slots.COUNT / members.size()));
            a = next;
            if (i % 3 == 2) {
                String leaving = members.remove(0);
                next = SlotPlanner.withShardRemoved(a, leaving, new HashRing(members));
                assertThat(a.movedTo(next).length).isEqualTo(a.counts().get(leaving));
                a = next;
            }
            assertThat((double) largest(a)).isLessThanOrEqualTo(mean(a) * 1.02);
        }
    }

    @Test
    void withShardAdded_isDeterministic() {
        SlotAssignment before = SlotPlanner.initial(new HashRing(shards(5)));
        List<String> grown = new ArrayList<>(shards(5));
        grown.add("new");

        assertThat(SlotPlanner.withShardAdded(before, "new", new HashRing(grown)))
                .isEqualTo(SlotPlanner.withShardAdded(before, "new", new HashRing(grown)));
    }

    @Test
    void badRequests_areRefused() {
        SlotAssignment one = SlotPlanner.initial(new HashRing(List.of("only")));
        assertThatIllegalArgumentException()
                .isThrownBy(() -> SlotPlanner.withShardRemoved(one, "only", new HashRing(List.of())));
        assertThatIllegalArgumentException()
                .isThrownBy(() -> SlotPlanner.withShardAdded(one, "only", new HashRing(List.of("only"))));
        assertThatIllegalArgumentException().isThrownBy(() -> SlotPlanner.initial(new HashRing(List.of())));
    }

    @Test
    void slots_areStableAndInRange() {
        byte[] key = "user:42".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int slot = Slots.of(key);
        assertThat(slot).isBetween(0, Slots.COUNT - 1).isEqualTo(Slots.of(key.clone()));
        // Keys spread over slots: 100k keys touch almost all of them.
        long distinct = IntStream.range(0, 100_000)
                .map(i -> Slots.of(("k" + i).getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                .distinct()
                .count();
        assertThat(distinct).isGreaterThan(Slots.COUNT * 99L / 100);
    }
}
