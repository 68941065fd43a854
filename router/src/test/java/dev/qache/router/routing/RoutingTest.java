package dev.qache.router.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.qache.protocol.Fencing;
import dev.qache.protocol.SlotCopy;
import dev.qache.router.cluster.ClusterMap;
import dev.qache.router.cluster.Shard;
import dev.qache.router.routing.Routing.Failure;
import dev.qache.router.routing.Routing.Method;
import dev.qache.router.routing.Routing.Reply;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Table-driven: what follows each answer and each failure (the rules in {@link Routing}'s design
 * block). Shard s1 has primary "p" and replica "r"; the forward timeout is 1000 ms, a primary
 * with replicas gets 100 ms before a replica is asked, a GET has 2 tries. The published map is
 * of epoch 1 and names "p" as s1's primary unless a row says "promoted" (then "r").
 */
class RoutingTest {

    private static final Shard S1 = new Shard("s1", "p", List.of("r"));
    private static final Shard S1_PROMOTED = new Shard("s1", "r", List.of("p"));

    private static Routing routing(Set<String> down) {
        return new Routing(
                new Routing.NodeView() {
                    @Override
                    public boolean down(String node) {
                        return down.contains(node);
                    }

                    @Override
                    public boolean syncing(String node) {
                        return false;
                    }
                },
                1,
                1_000,
                100);
    }

    private static ClusterMap published(Shard shard) {
        return ClusterMap.bootstrap(List.of(shard));
    }

    private static Reply reply(int status, @Nullable String refused) {
        return new Reply(status, refused, null, -1, null);
    }

    static Stream<Arguments> answers() {
        return Stream.of(
                Arguments.of(
                        "a GET's 200 from the primary is the client's",
                        Method.GET,
                        "p",
                        reply(200, null),
                        "",
                        0,
                        "Relay[outcome=answered]"),
                Arguments.of(
                        "a GET's 404 from a replica is the client's",
                        Method.GET,
                        "r",
                        reply(404, null),
                        "",
                        0,
                        "Relay[outcome=answered-by-replica]"),
                Arguments.of(
                        "a syncing replica hands the read to the primary",
                        Method.GET,
                        "r",
                        reply(503, Fencing.SYNCING),
                        "",
                        0,
                        "Send[shard=" + S1 + ", node=p, attempts=1]"),
                Arguments.of(
                        "the primary never syncs: its 503 is the client's",
                        Method.GET,
                        "p",
                        reply(503, Fencing.SYNCING),
                        "",
                        0,
                        "Relay[outcome=answered]"),
                Arguments.of(
                        "a write's 204 is the client's",
                        Method.POST,
                        "p",
                        reply(204, null),
                        "",
                        0,
                        "Relay[outcome=answered]"),
                Arguments.of(
                        "rule 1: a 421 naming a newer epoch waits for that map",
                        Method.POST,
                        "p",
                        new Reply(421, Fencing.STALE_MAP, null, 2, "q:1"),
                        "",
                        0,
                        "AwaitMap[epoch=2]"),
                Arguments.of(
                        "rule 1: a 421 after a promotion goes to the new primary",
                        Method.POST,
                        "p",
                        new Reply(421, Fencing.MISDIRECTED, null, 1, null),
                        "promoted",
                        0,
                        "Send[shard=" + S1_PROMOTED + ", node=r, attempts=1]"),
                Arguments.of(
                        "rule 1: a 421 naming another owner follows it once",
                        Method.DELETE,
                        "p",
                        new Reply(421, Fencing.MISDIRECTED, null, 1, "q:1"),
                        "",
                        0,
                        "FollowOwner[owner=q:1]"),
                Arguments.of(
                        "rule 1: a 421 naming the node itself is the client's",
                        Method.POST,
                        "p",
                        new Reply(421, Fencing.MISDIRECTED, null, 1, "p"),
                        "",
                        0,
                        "Relay[outcome=answered]"),
                Arguments.of(
                        "a GET's 421 is the client's (reads are not re-routed by it)",
                        Method.GET,
                        "p",
                        new Reply(421, Fencing.MISDIRECTED, null, 2, "q:1"),
                        "",
                        0,
                        "Relay[outcome=answered]"),
                Arguments.of(
                        "rule 2: a stale map is pushed and the write retried",
                        Method.POST,
                        "p",
                        reply(421, Fencing.STALE_MAP),
                        "",
                        0,
                        "RetryLater[pauseMillis=10, node=p, pushMap=true, renewLease=false]"),
                Arguments.of(
                        "rule 2: a lapsed lease is renewed and the write retried",
                        Method.POST,
                        "p",
                        reply(503, Fencing.LEASE_LAPSED),
                        "",
                        200,
                        "RetryLater[pauseMillis=60, node=p, pushMap=false, renewLease=true]"),
                Arguments.of(
                        "rule 2: a paused primary is retried, the pause capped at 100 ms",
                        Method.DELETE,
                        "p",
                        reply(503, Fencing.PAUSED),
                        "",
                        800,
                        "RetryLater[pauseMillis=100, node=p, pushMap=false, renewLease=false]"),
                Arguments.of(
                        "rule 2: out of time, the refusal is the client's",
                        Method.POST,
                        "p",
                        reply(503, Fencing.PAUSED),
                        "",
                        950,
                        "Relay[outcome=answered]"),
                Arguments.of(
                        "rule 2: out of time on a blocked shard, 503 says why",
                        Method.POST,
                        "p",
                        reply(503, Fencing.PAUSED),
                        "blocked",
                        950,
                        "Unavailable[outcome=unavailable, detail=shard s1 takes no writes now: promoting]"),
                Arguments.of(
                        "a GET refused for a lapsed lease is not retried (reads need no lease)",
                        Method.GET,
                        "p",
                        reply(503, Fencing.LEASE_LAPSED),
                        "",
                        0,
                        "Relay[outcome=answered]"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("answers")
    void afterAnswer_followsTheRules(
            String why, Method method, String node, Reply reply, String flags, long elapsedMillis, String expected) {
        ClusterMap map = published(flags.contains("promoted") ? S1_PROMOTED : S1);
        String blocked = flags.contains("blocked") ? "promoting" : null;
        assertThat(routing(Set.of())
                        .afterAnswer(method, S1, node, reply, map, elapsedMillis, () -> blocked)
                        .toString())
                .isEqualTo(expected);
    }

    static Stream<Arguments> failures() {
        return Stream.of(
                Arguments.of(
                        "a GET without an answer tries the replica",
                        Method.GET,
                        "p",
                        2,
                        Failure.NO_ANSWER,
                        "",
                        0,
                        "Send[shard=" + S1 + ", node=r, attempts=1]"),
                Arguments.of(
                        "a GET from the replica without an answer tries the primary",
                        Method.GET,
                        "r",
                        2,
                        Failure.NOT_CONNECTED,
                        "",
                        0,
                        "Send[shard=" + S1 + ", node=p, attempts=1]"),
                Arguments.of(
                        "the last GET attempt without an answer is 503",
                        Method.GET,
                        "r",
                        1,
                        Failure.NO_ANSWER,
                        "",
                        0,
                        "Unavailable[outcome=unreachable, detail=node r of shard s1 did not answer: timeout]"),
                Arguments.of(
                        "an open circuit on the last try says so",
                        Method.GET,
                        "p",
                        1,
                        Failure.CIRCUIT_OPEN,
                        "",
                        0,
                        "Unavailable[outcome=circuit-open, detail=the circuit to node p of shard s1 is open after"
                                + " repeated failures; failing fast]"),
                Arguments.of(
                        "rule 2: a write never sent (refused connection) is retried",
                        Method.POST,
                        "p",
                        1,
                        Failure.NOT_CONNECTED,
                        "",
                        0,
                        "RetryLater[pauseMillis=10, node=p, pushMap=false, renewLease=false]"),
                Arguments.of(
                        "rule 2: a write never sent (open circuit) is retried",
                        Method.DELETE,
                        "p",
                        1,
                        Failure.CIRCUIT_OPEN,
                        "",
                        100,
                        "RetryLater[pauseMillis=35, node=p, pushMap=false, renewLease=false]"),
                Arguments.of(
                        "a write sent without an answer is never sent again",
                        Method.POST,
                        "p",
                        1,
                        Failure.NO_ANSWER,
                        "",
                        0,
                        "Unavailable[outcome=unreachable, detail=node p of shard s1 did not answer: timeout]"),
                Arguments.of(
                        "a write never sent, out of time on a blocked shard: 503 says why",
                        Method.POST,
                        "p",
                        1,
                        Failure.NOT_CONNECTED,
                        "blocked",
                        995,
                        "Unavailable[outcome=unavailable, detail=shard s1 takes no writes now: promoting]"),
                Arguments.of(
                        "a write never sent, out of time: 503 names the node",
                        Method.POST,
                        "p",
                        1,
                        Failure.NOT_CONNECTED,
                        "",
                        995,
                        "Unavailable[outcome=unreachable, detail=node p of shard s1 did not answer: timeout]"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("failures")
    void afterFailure_followsTheRules(
            String why,
            Method method,
            String node,
            int attempts,
            Failure failure,
            String flags,
            long elapsedMillis,
            String expected) {
        String blocked = flags.contains("blocked") ? "promoting" : null;
        assertThat(routing(Set.of())
                        .afterFailure(method, S1, node, attempts, failure, "timeout", elapsedMillis, () -> blocked)
                        .toString())
                .isEqualTo(expected);
    }

    static Stream<Arguments> plans() {
        return Stream.of(
                Arguments.of(
                        "a GET goes to the primary with its retries",
                        Method.GET,
                        "",
                        "Single[shard=" + S1 + ", node=p, attempts=2]"),
                Arguments.of(
                        "a GET whose primary is down goes to a replica",
                        Method.GET,
                        "p",
                        "Single[shard=" + S1 + ", node=r, attempts=2]"),
                Arguments.of(
                        "a write goes to the primary, once, even when it is down",
                        Method.POST,
                        "p",
                        "Single[shard=" + S1 + ", node=p, attempts=1]"),
                Arguments.of(
                        "a delete goes to the primary, once",
                        Method.DELETE,
                        "",
                        "Single[shard=" + S1 + ", node=p, attempts=1]"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("plans")
    void plan_routesByThePublishedMap(String why, Method method, String down, String expected) {
        Set<String> isDown = down.isEmpty() ? Set.of() : Set.of(down);
        assertThat(routing(isDown)
                        .plan(ClusterMap.bootstrap(List.of(S1)), method, "k".getBytes(StandardCharsets.UTF_8))
                        .toString())
                .isEqualTo(expected);
    }

    @Test
    void plan_withoutShards_isNoShard() {
        assertThat(routing(Set.of()).plan(ClusterMap.empty(), Method.GET, new byte[] {1}))
                .isInstanceOf(Routing.NoShard.class);
    }

    @Test
    void plan_ofAMigratingSlot_namesSourceAndTarget() {
        Shard s2 = new Shard("s2", "q", List.of());
        ClusterMap map = ClusterMap.bootstrap(List.of(S1)).withShardAdded(s2);
        byte[] moving = null;
        for (int i = 0; moving == null; i++) {
            byte[] key = ("k" + i).getBytes(StandardCharsets.UTF_8);
            if ("s2".equals(map.targetOf(dev.qache.protocol.Slots.of(key)))) {
                moving = key;
            }
        }
        assertThat(routing(Set.of()).plan(map, Method.POST, moving).toString())
                .isEqualTo("Migrating[from=" + S1 + ", to=" + s2 + "]");
    }

    static Stream<Arguments> timeouts() {
        return Stream.of(
                Arguments.of(
                        "a GET to a primary with replicas, tries left: the short wait", Method.GET, S1, "p", 2, 100L),
                Arguments.of("the last GET try waits the whole timeout", Method.GET, S1, "p", 1, 1_000L),
                Arguments.of("a GET to a replica waits the whole timeout", Method.GET, S1, "r", 2, 1_000L),
                Arguments.of(
                        "a primary without replicas waits the whole timeout",
                        Method.GET,
                        new Shard("s9", "p", List.of()),
                        "p",
                        2,
                        1_000L),
                Arguments.of("a write waits the whole timeout", Method.POST, S1, "p", 2, 1_000L));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("timeouts")
    void timeoutMillis_hedgesOnlyReadsOfPrimariesWithReplicas(
            String why, Method method, Shard shard, String node, int attempts, long expected) {
        assertThat(routing(Set.of()).timeoutMillis(method, shard, node, attempts))
                .isEqualTo(expected);
    }

    static Stream<Arguments> migratingAnswers() {
        return Stream.of(
                Arguments.of("target 200: final", new Reply(200, null, null, -1, null), true),
                Arguments.of("target 404 it vouches for: final", new Reply(404, null, null, -1, null), true),
                Arguments.of(
                        "target 404, import pending: ask the source",
                        new Reply(404, null, SlotCopy.PENDING, -1, null),
                        false),
                Arguments.of("target 421 (no migrating map yet): ask the source", reply(421, Fencing.STALE_MAP), false),
                Arguments.of("target 503 syncing: final (it is the target's word)", reply(503, Fencing.SYNCING), true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("migratingAnswers")
    void targetIsFinal_unlessItCannotVouch(String why, Reply target, boolean expected) {
        assertThat(Routing.targetIsFinal(target)).isEqualTo(expected);
    }

    static Stream<Arguments> deletes() {
        return Stream.of(
                Arguments.of("204 removed it", reply(204, null), true),
                Arguments.of("404 had none", reply(404, null), true),
                Arguments.of("421 misdirected: the map moved on", reply(421, Fencing.MISDIRECTED), true),
                Arguments.of("421 stale map: not settled", reply(421, Fencing.STALE_MAP), false),
                Arguments.of("503 paused: not settled", reply(503, Fencing.PAUSED), false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("deletes")
    void deleteSettled_onEachSide(String why, Reply reply, boolean expected) {
        assertThat(Routing.deleteSettled(reply)).isEqualTo(expected);
    }

    @Test
    void deleteAnswersFromSource_onlyWhenOnlyTheSourceHadTheKey() {
        assertThat(Routing.deleteAnswersFromSource(reply(404, null), reply(204, null)))
                .isTrue();
        assertThat(Routing.deleteAnswersFromSource(reply(204, null), reply(204, null)))
                .isFalse();
        assertThat(Routing.deleteAnswersFromSource(reply(204, null), reply(404, null)))
                .isFalse();
        assertThat(Routing.deleteAnswersFromSource(reply(404, null), reply(404, null)))
                .isFalse();
    }
}
