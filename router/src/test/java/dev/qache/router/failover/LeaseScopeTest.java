package dev.qache.router.failover;

import static org.assertj.core.api.Assertions.assertThat;

import dev.qache.router.cluster.ClusterMap;
import dev.qache.router.cluster.Shard;
import java.util.List;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Table-driven: each row is a moment (which maps the router holds), a node and the epoch a grant
 * would be bound to, and the shard it may be granted a lease for ("-" for none). Shard s1 is led
 * by node a with replica a2, s2 by b; c leads s3 where a row adds or removes it.
 */
class LeaseScopeTest {

    private static final ClusterMap TWO =
            ClusterMap.bootstrap(List.of(new Shard("s1", "a", List.of("a2")), new Shard("s2", "b", List.of())));
    private static final ClusterMap THREE = ClusterMap.bootstrap(List.of(
            new Shard("s1", "a", List.of("a2")), new Shard("s2", "b", List.of()), new Shard("s3", "c", List.of())));

    /** previous, current, pending. */
    private record Moment(
            @Nullable ClusterMap previous,
            ClusterMap current,
            @Nullable ClusterMap pending) {}

    private static Moment moment(String name) {
        return switch (name) {
            case "steady" -> new Moment(null, TWO, null);
            case "adding s3, committing its migration" -> {
                ClusterMap moving = TWO.withShardAdded(new Shard("s3", "c", List.of()));
                yield new Moment(TWO, moving, moving.withMovesCommitted());
            }
            case "adding s3, in flight" -> new Moment(null, TWO, TWO.withShardAdded(new Shard("s3", "c", List.of())));
            case "failing s1 over to a2, in flight" ->
                new Moment(null, TWO, TWO.withShardMembers(new Shard("s1", "a2", List.of("a"))));
            case "failed s1 over to a2, published" ->
                new Moment(TWO, TWO.withShardMembers(new Shard("s1", "a2", List.of("a"))), null);
            case "removing s3, committing" -> {
                ClusterMap moving = THREE.withShardRemoved("s3");
                yield new Moment(THREE, moving, moving.withMovesCommitted());
            }
            default -> throw new IllegalArgumentException(name);
        };
    }

    static Stream<Arguments> rows() {
        return Stream.of(
                Arguments.of("steady", "a", 1, "s1"),
                Arguments.of("steady", "b", 1, "s2"),
                Arguments.of("steady", "a2", 1, "-"), // a replica takes no writes
                Arguments.of("steady", "a", 0, "-"), // an epoch the router does not hold
                Arguments.of("steady", "a", 2, "-"),
                Arguments.of("steady", "z", 1, "-"),
                // The CI failure: a primary that took the map in flight keeps its lease while the
                // router waits for the others to take it.
                Arguments.of("adding s3, committing its migration", "a", 3, "s1"),
                Arguments.of("adding s3, committing its migration", "a", 2, "s1"),
                Arguments.of("adding s3, committing its migration", "a", 1, "s1"), // slow to take epoch 2
                Arguments.of("adding s3, committing its migration", "c", 3, "s3"),
                Arguments.of("adding s3, committing its migration", "c", 1, "-"), // not in epoch 1
                Arguments.of("adding s3, committing its migration", "a", 4, "-"),
                // The CI failure of two stops: writes of slots moving to an added shard go to its
                // primary as soon as the map is published, so the push before carries a lease.
                Arguments.of("adding s3, in flight", "c", 2, "s3"),
                Arguments.of("adding s3, in flight", "c", 1, "-"),
                Arguments.of("adding s3, in flight", "a", 1, "s1"),
                Arguments.of("adding s3, in flight", "a", 2, "s1"),
                Arguments.of("adding s3, in flight", "z", 2, "-"),
                // A primary being replaced gets nothing while the change is in flight, nor the
                // node replacing it before the change is published (its hand-off grants it one).
                Arguments.of("failing s1 over to a2, in flight", "a", 1, "-"),
                Arguments.of("failing s1 over to a2, in flight", "a2", 2, "-"),
                Arguments.of("failing s1 over to a2, in flight", "b", 1, "s2"),
                Arguments.of("failing s1 over to a2, in flight", "b", 2, "s2"),
                Arguments.of("failed s1 over to a2, published", "a", 1, "-"),
                Arguments.of("failed s1 over to a2, published", "a", 2, "-"),
                Arguments.of("failed s1 over to a2, published", "a2", 2, "s1"),
                Arguments.of("failed s1 over to a2, published", "a2", 1, "-"), // a replica at epoch 1
                Arguments.of("failed s1 over to a2, published", "b", 1, "s2"),
                Arguments.of("removing s3, committing", "c", 2, "-"),
                Arguments.of("removing s3, committing", "c", 3, "-"),
                Arguments.of("removing s3, committing", "a", 3, "s1"));
    }

    @ParameterizedTest(name = "{0}: {1} at epoch {2} -> {3}")
    @MethodSource("rows")
    void row(String at, String node, long epoch, String expected) {
        Moment m = moment(at);
        String shard = LeaseScope.shardFor(node, epoch, m.previous(), m.current(), m.pending());
        assertThat(shard == null ? "-" : shard).isEqualTo(expected);
    }
}
