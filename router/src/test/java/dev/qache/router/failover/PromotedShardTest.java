package dev.qache.router.failover;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.qache.router.cluster.ClusterMap;
import dev.qache.router.cluster.Shard;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A promotion's new shard is built from the map it applies to, not from the shard as the
 * promotion found it seconds earlier (a hand-off waits for the replica): a replica added or
 * removed meanwhile stays so, and a promotion whose shard changed under it changes nothing.
 */
class PromotedShardTest {

    /** The shard when the promotion of "r1" began. */
    private static final Shard PLANNED = new Shard("s1", "p", List.of("r1", "r2"));

    private static ClusterMap mapWith(Shard s1) {
        return ClusterMap.bootstrap(List.of(s1, new Shard("s2", "q", List.of())));
    }

    static Stream<Arguments> table() {
        return Stream.of(
                Arguments.of("unchanged", new Shard("s1", "p", List.of("r1", "r2")), "r1: [r2, p]"),
                Arguments.of("r2 removed meanwhile", new Shard("s1", "p", List.of("r1")), "r1: [p]"),
                Arguments.of("r3 added meanwhile", new Shard("s1", "p", List.of("r1", "r2", "r3")), "r1: [r2, r3, p]"),
                Arguments.of("r1, the chosen one, removed", new Shard("s1", "p", List.of("r2")), "refused"),
                Arguments.of("promoted meanwhile", new Shard("s1", "r2", List.of("r1", "p")), "refused"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void thePromotedShard_followsTheMapItAppliesTo(String moment, Shard now, String expected) {
        ClusterMap map = mapWith(now);
        if (expected.equals("refused")) {
            assertThatThrownBy(() -> Failover.promoted(map, PLANNED, "r1"))
                    .isInstanceOf(Failover.ShardChanged.class)
                    .hasMessageContaining("nothing was changed");
            return;
        }
        Shard promoted = Failover.promoted(map, PLANNED, "r1");
        assertThat(promoted.primary() + ": " + promoted.replicas()).isEqualTo(expected);
    }
}
