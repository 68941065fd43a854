package dev.qache.router.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import dev.qache.protocol.Slots;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClusterMapTest {

    private static Shard shard(String id, int port) {
        return new Shard(id, "127.0.0.1:" + port, List.of("127.0.0.1:" + (port + 1000)));
    }

    @Test
    void everyChange_raisesEpochByOne_andLeavesTheOldMapUntouched() {
        ClusterMap empty = ClusterMap.empty();
        ClusterMap one = empty.withShardAdded(shard("s1", 7001));
        ClusterMap joining = one.withShardAdded(shard("s2", 7002));
        ClusterMap two = joining.withMovesCommitted();
        ClusterMap promoted = two.withShardMembers(new Shard("s2", "127.0.0.1:8002", List.of("127.0.0.1:7002")));
        ClusterMap leaving = promoted.withShardRemoved("s1");
        ClusterMap shrunk = leaving.withMovesCommitted();

        assertThat(List.of(empty.epoch(), one.epoch(), joining.epoch(), two.epoch(), promoted.epoch(), shrunk.epoch()))
                .containsExactly(0L, 1L, 2L, 3L, 4L, 6L);
        assertThat(one.shards()).containsOnlyKeys("s1");
        assertThat(empty.slots()).isEmpty();
        assertThat(promoted.slots()).isEqualTo(two.slots());
        assertThat(shrunk.slots().orElseThrow().counts()).containsOnlyKeys("s2").containsValue(Slots.COUNT);
        assertThat(shrunk.shards()).containsOnlyKeys("s2");
    }

    @Test
    void aJoiningShard_ownsNothingUntilTheMovesAreCommitted_andOnlyItsShareMoves() {
        ClusterMap three = ClusterMap.bootstrap(List.of(shard("s1", 7001), shard("s2", 7002), shard("s3", 7003)));
        ClusterMap joining = three.withShardAdded(shard("s4", 7004));

        assertThat(joining.slots()).isEqualTo(three.slots());
        assertThat(joining.moving()).hasSizeBetween(Slots.COUNT / 4 - 1, Slots.COUNT / 4 + 1);
        assertThat(joining.moving().values()).containsOnly("s4");
        assertThatIllegalArgumentException()
                .as("one migration at a time")
                .isThrownBy(() -> joining.withShardAdded(shard("s5", 7005)));

        ClusterMap four = joining.withMovesCommitted();
        assertThat(four.moving()).isEmpty();
        assertThat(four.slots().orElseThrow().counts().get("s4"))
                .isEqualTo(joining.moving().size());

        ClusterMap aborted = joining.withMovesAborted();
        assertThat(aborted.shards()).doesNotContainKey("s4");
        assertThat(aborted.slots()).isEqualTo(three.slots());
        assertThatIllegalArgumentException()
                .as("the last shard cannot leave")
                .isThrownBy(
                        () -> ClusterMap.bootstrap(List.of(shard("s1", 7001))).withShardRemoved("s1"));
    }

    @Test
    void movingSlots_surviveTheJsonForm() throws Exception {
        ClusterMap joining = ClusterMap.bootstrap(List.of(shard("s1", 7001), shard("s2", 7002)))
                .withShardAdded(shard("s3", 7003));

        ClusterMap back = ClusterMapJson.read(ClusterMapJson.write(joining));

        assertThat(back).isEqualTo(joining);
        assertThat(back.moving()).isEqualTo(joining.moving());
    }

    @Test
    void shardFor_followsTheSlotOwner() {
        ClusterMap map = ClusterMap.bootstrap(List.of(shard("s1", 7001), shard("s2", 7002), shard("s3", 7003)));
        byte[] key = "user:42".getBytes(StandardCharsets.UTF_8);

        assertThat(map.shardFor(key).orElseThrow().id())
                .isEqualTo(map.slots().orElseThrow().ownerOf(Slots.of(key)));
        assertThat(ClusterMap.empty().shardFor(key)).isEmpty();
    }

    @Test
    void invalidChanges_areRefused() {
        ClusterMap map = ClusterMap.empty().withShardAdded(shard("s1", 7001));

        assertThatIllegalArgumentException().isThrownBy(() -> map.withShardAdded(shard("s1", 7005)));
        assertThatIllegalArgumentException()
                .as("a node may serve one shard only")
                .isThrownBy(() -> map.withShardAdded(new Shard("s2", "127.0.0.1:7001", List.of())));
        assertThatIllegalArgumentException().isThrownBy(() -> map.withShardRemoved("nope"));
        assertThatIllegalArgumentException().isThrownBy(() -> new Shard("s3", " ", List.of()));
    }
}
