package dev.qache.router.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIOException;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * What the router serves from while its changes go through the routers' group: a change is
 * published only once committed (and after its beforePublish), a refused change publishes nothing,
 * maps committed elsewhere are published as they apply, and the served map never goes back.
 */
class ClusterStateTest {

    /** The group, in memory: commits over the map it holds, telling the state as Ratis would. */
    private static final class FakeLog implements ClusterState.MapLog {
        ClusterState state;
        ClusterMap held;
        boolean refuse;
        final List<Long> committed = new ArrayList<>();

        FakeLog(ClusterMap initial) {
            held = initial;
        }

        @Override
        public boolean commit(@Nullable ClusterMap from, ClusterMap next, @Nullable Promoted promotion) {
            boolean applies = !refuse && next.epoch() > held.epoch() && (from == null || from.epoch() == held.epoch());
            if (applies) {
                held = next;
                committed.add(next.epoch());
                state.applied(next); // the applier runs before the proposer hears back
            }
            return applies;
        }

        @Override
        public boolean leads() {
            return true;
        }
    }

    private static ClusterMap epochOne() {
        return ClusterMap.bootstrap(
                List.of(new Shard("s1", "127.0.0.1:7001", List.of()), new Shard("s2", "127.0.0.1:7002", List.of())));
    }

    private final ClusterMap one = epochOne();
    private final FakeLog log = new FakeLog(one);
    private final ClusterState state = new ClusterState(one, log, null);
    private final List<Long> heard = new ArrayList<>();

    {
        log.state = state;
        state.onChange(map -> heard.add(map.epoch()));
    }

    @Test
    void aChange_isCommitted_thenPreparedFor_thenPublished() throws Exception {
        AtomicReference<Long> servedWhilePreparing = new AtomicReference<>();
        ClusterMap next = state.update(
                map -> map.withShardRemoved("s2"),
                map -> servedWhilePreparing.set(state.current().epoch()));

        assertThat(log.committed).containsExactly(next.epoch());
        assertThat(servedWhilePreparing.get())
                .as("the map its beforePublish prepares for is not served yet")
                .isEqualTo(one.epoch());
        assertThat(state.current()).isEqualTo(next);
        assertThat(heard).containsExactly(next.epoch());
    }

    @Test
    void aChangeInFlight_isPending_untilPublished_thenTheOldMapIsPrevious() throws Exception {
        AtomicReference<ClusterMap> pendingWhilePreparing = new AtomicReference<>();
        assertThat(state.pending()).isNull();
        assertThat(state.previous()).isNull();

        ClusterMap next =
                state.update(map -> map.withShardRemoved("s2"), map -> pendingWhilePreparing.set(state.pending()));

        assertThat(pendingWhilePreparing.get())
                .as("primaries are given the map before it is published: leases may be bound to it")
                .isEqualTo(next);
        assertThat(state.pending()).isNull();
        assertThat(state.previous()).isEqualTo(one);
    }

    @Test
    void aRefusedChange_isPendingNoMore() {
        log.refuse = true;
        assertThatIOException().isThrownBy(() -> state.update(map -> map.withShardRemoved("s2")));
        assertThat(state.pending()).isNull();
        assertThat(state.previous()).isNull();
    }

    @Test
    void aRefusedChange_publishesNothing() {
        log.refuse = true;
        assertThatIOException().isThrownBy(() -> state.update(map -> map.withShardRemoved("s2")));
        assertThat(state.current()).isEqualTo(one);
        assertThat(heard).isEmpty();
    }

    @Test
    void aMapCommittedByAnotherRouter_isPublishedAsItApplies_andTheServedMapNeverGoesBack() {
        ClusterMap two = one.withShardRemoved("s2");
        ClusterMap three = two.withShardMembers(new Shard("s1", "127.0.0.1:7101", List.of()));
        state.applied(three);
        state.applied(two);

        assertThat(state.current()).isEqualTo(three);
        assertThat(heard).containsExactly(three.epoch());
    }

    @Test
    void aChangeComputedFromAMapTheGroupMovedOnFrom_isRefused() {
        log.held = one.withShardRemoved("s2"); // committed elsewhere, not applied here yet
        assertThatIOException()
                .isThrownBy(
                        () -> state.update(map -> map.withShardMembers(new Shard("s1", "127.0.0.1:7101", List.of()))))
                .withMessageContaining("moved on");
        assertThat(state.current()).isEqualTo(one);
    }

    @Test
    void aNewerMapANodeHolds_isAdopted_anOlderOrEqualOneIsNot() throws Exception {
        ClusterMap two = one.withShardRemoved("s2");
        assertThat(state.adoptIfNewer(one)).isFalse();
        assertThat(state.adoptIfNewer(two)).isTrue();
        assertThat(state.current()).isEqualTo(two);
        assertThat(state.adoptIfNewer(two)).isFalse();
        assertThat(log.committed).containsExactly(two.epoch());
    }
}
