package dev.qache.router.control;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.qache.router.cluster.Promoted;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The rules every router applies to an entry of the group's log, table-driven: a map change
 * applies only over the map it was computed from, only with a newer epoch, and only in the term of
 * the leader that proposed it; a migration's progress applies only to the migration under way and
 * lasts until a map without slots in flight. The state is at epoch 5 unless the row says empty (-1).
 */
class ControlStateTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            the next epoch over the current map                     | 5  | 1  | 5   | 6 | 1 | true
            a jump of epochs over the current map                   | 5  | 1  | 5   | 9 | 1 | true
            computed from an older map: refused                     | 5  | 1  | 4   | 6 | 1 | false
            computed from a map not seen yet: refused               | 5  | 1  | 6   | 7 | 1 | false
            not newer than the current map: refused                 | 5  | 1  | 5   | 5 | 1 | false
            older than the current map: refused                     | 5  | 1  | 5   | 4 | 1 | false
            proposed in an earlier term (a deposed leader): refused | 5  | 1  | 5   | 6 | 2 | false
            proposed in a later term than logged: refused           | 5  | 3  | 5   | 6 | 2 | false
            any term (-1)                                           | 5  | -1 | 5   | 6 | 7 | true
            adopted over any older map                              | 5  | 1  | ANY | 8 | 1 | true
            adopted, but not newer: refused                         | 5  | 1  | ANY | 5 | 1 | false
            the first map over an empty state                       | -1 | 1  | -1  | 1 | 1 | true
            the first map from a map never seen: refused            | -1 | 1  | 0   | 1 | 1 | false
            """)
    void applies(String name, long stateEpoch, long term, String expected, long epoch, long loggedIn, boolean applies) {
        ControlState state = stateEpoch < 0 ? ControlState.EMPTY : new ControlState(stateEpoch, map(stateEpoch));
        long expectedEpoch = expected.equals("ANY") ? MapChange.ANY_OLDER : Long.parseLong(expected);
        MapChange change = new MapChange(term, expectedEpoch, epoch, map(epoch));

        MapChange.Outcome outcome = state.apply(change, loggedIn);

        assertThat(outcome.applied()).as(outcome.reason()).isEqualTo(applies);
        assertThat(outcome.state()).isEqualTo(applies ? new ControlState(epoch, map(epoch)) : state);
        assertThat(outcome.reason()).isEqualTo(applies ? "" : outcome.reason()).isNotNull();
    }

    /**
     * A migration's committed progress. The state is at epoch 5, with a migration planned at epoch
     * {@code plan} (-1: none) that copied slot 1. A change: {@code map:EPOCH:moving|still} (a map
     * with or without slots in flight, over epoch 5) or {@code progress:PLAN:SLOT} (slot copied, in
     * the migration planned at PLAN), proposed in term 1 and logged in {@code loggedIn}. Expected:
     * whether it applied, the plan after it and the slots recorded copied.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            a map with slots in flight plans a migration           | -1 | map:6:moving  | 1 | true  | 6  |
            a failover map during a migration keeps its progress   | 4  | map:6:moving  | 1 | true  | 4  | 1
            the map that ends a migration drops its progress       | 4  | map:6:still   | 1 | true  | -1 |
            a map without a migration leaves none                  | -1 | map:6:still   | 1 | true  | -1 |
            a refused map keeps the progress                       | 4  | map:5:still   | 1 | false | 4  | 1
            progress of the migration under way is recorded        | 4  | progress:4:2  | 1 | true  | 4  | 1,2
            a slot copied again replaces its record                | 4  | progress:4:1  | 1 | true  | 4  | 1
            progress of an earlier migration: refused              | 4  | progress:3:2  | 1 | false | 4  | 1
            progress with no migration under way: refused          | -1 | progress:-1:2 | 1 | false | -1 |
            progress from a deposed leader: refused                | 4  | progress:4:2  | 2 | false | 4  | 1
            """)
    void migrationProgress(
            String name, long plan, String change, long loggedIn, boolean applies, long planAfter, String copiedAfter) {
        ControlState state =
                plan < 0 ? new ControlState(5, map(5)) : new ControlState(5, map(5), plan, Map.of(1, slot(1)));
        String[] parts = change.split(":");
        ControlChange proposed = parts[0].equals("map")
                ? new MapChange(
                        1, 5, Long.parseLong(parts[1]), map(Long.parseLong(parts[1])), parts[2].equals("moving"))
                : new ProgressChange(1, Long.parseLong(parts[1]), List.of(slot(Integer.parseInt(parts[2]))));

        MapChange.Outcome outcome = state.apply(proposed, loggedIn);

        assertThat(outcome.applied()).as(outcome.reason()).isEqualTo(applies);
        assertThat(outcome.state().planEpoch()).isEqualTo(planAfter);
        assertThat(outcome.state().copied().keySet().stream()
                        .map(String::valueOf)
                        .collect(Collectors.joining(",")))
                .isEqualTo(copiedAfter == null ? "" : copiedAfter);
        if (applies && parts[0].equals("progress")) {
            assertThat(outcome.state().copied())
                    .containsEntry(Integer.parseInt(parts[2]), slot(Integer.parseInt(parts[2])));
        }
    }

    /**
     * The failover history: each shard's last promotion, recorded with the map that made it. The
     * state at epoch 5 holds a promotion of s1 at epoch 3. A change: the next map, promoting a
     * replica of the shard named (or none: -), proposed in term 1 and logged in {@code loggedIn}.
     * Expected: each shard's last promotion as {@code shard>to@epoch}.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            a map that promotes records it with its epoch     | s2 | 1 | s1>b@3 s2>new@6
            a later promotion of a shard replaces the last    | s1 | 1 | s1>new@6
            a map that promotes nobody keeps the history      | -  | 1 | s1>b@3
            a refused map records nothing                     | s2 | 2 | s1>b@3
            """)
    void failoverHistory(String name, String promotes, long loggedIn, String expected) {
        ControlState state = new ControlState(
                5, map(5), -1, Map.of(), Map.of("s1", new Promoted("s1", "t0", "a", "b", 3, "detected")));
        Promoted promotion = promotes.equals("-") ? null : new Promoted(promotes, "t1", "old", "new", -1, "forced");

        MapChange.Outcome outcome = state.apply(new MapChange(1, 5, 6, map(6), false, promotion), loggedIn);

        assertThat(outcome.state().promotions().values().stream()
                        .map(p -> p.shard() + ">" + p.to() + "@" + p.epoch())
                        .collect(Collectors.joining(" ")))
                .isEqualTo(expected);
    }

    /**
     * Graceful promotions under way. The state at epoch 5 has a hand-off of s1 (a to b) under way.
     * A change: {@code begin:SHARD}, {@code end:SHARD} or {@code map:SHARD|-} (the next map,
     * promoting a replica of SHARD or nobody), proposed in term 1 and logged in {@code loggedIn}.
     * Expected: the shards with a hand-off under way after it.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            a hand-off begun is recorded                           | begin:s2 | 1 | s1 s2
            a hand-off begun again replaces the record             | begin:s1 | 1 | s1
            a hand-off called off is dropped                       | end:s1   | 1 |
            calling off one not under way changes nothing          | end:s3   | 1 | s1
            the map that promotes the shard ends its hand-off      | map:s1   | 1 |
            a map promoting another shard keeps it                 | map:s2   | 1 | s1
            a map promoting nobody keeps it                        | map:-    | 1 | s1
            a deposed leader's hand-off: refused                   | begin:s2 | 2 | s1
            a deposed leader's call-off: refused                   | end:s1   | 2 | s1
            """)
    void handoffs(String name, String change, long loggedIn, String expected) {
        ControlState state = new ControlState(5, map(5), -1, Map.of(), Map.of(), Map.of("s1", handoff("s1")));
        String[] parts = change.split(":");
        ControlChange proposed = switch (parts[0]) {
            case "begin" -> new HandoffChange(1, parts[1], handoff(parts[1]));
            case "end" -> new HandoffChange(1, parts[1], null);
            default ->
                new MapChange(
                        1,
                        5,
                        6,
                        map(6),
                        false,
                        parts[1].equals("-") ? null : new Promoted(parts[1], "t1", "a", "b", -1, "forced"));
        };

        MapChange.Outcome outcome = state.apply(proposed, loggedIn);

        assertThat(String.join(" ", outcome.state().handoffs().keySet())).isEqualTo(expected == null ? "" : expected);
        assertThat(outcome.applied()).isEqualTo(loggedIn == 1);
    }

    private static PendingHandoff handoff(String shard) {
        return new PendingHandoff(shard, "a", "b", "2026-12-02T15:00:00Z");
    }

    /** Snapshots written before hand-offs were state (format 2) still read. */
    @Test
    void theSecondFormat_stillReads() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeInt(2);
        out.writeLong(7);
        out.writeInt(map(7).length);
        out.write(map(7));
        out.writeLong(-1);
        out.writeInt(0);
        out.writeInt(1);
        ControlState.writePromotion(out, new Promoted("s1", "t", "a", "b", 6, "detected"));
        assertThat(ControlState.decode(bytes.toByteArray()))
                .isEqualTo(new ControlState(
                        7, map(7), -1, Map.of(), Map.of("s1", new Promoted("s1", "t", "a", "b", 6, "detected"))));
    }

    @Test
    void theFailoverHistory_keepsTheNewestShardsWithinItsBound() throws Exception {
        ControlState state = new ControlState(0, map(0));
        for (int epoch = 1; epoch <= ControlState.MAX_PROMOTIONS + 10; epoch++) {
            Promoted promotion = new Promoted("s" + epoch, "t", "a", "b", -1, "detected");
            state = state.apply(new MapChange(1, epoch - 1, epoch, map(epoch), false, promotion), 1)
                    .state();
        }
        assertThat(state.promotions()).hasSize(ControlState.MAX_PROMOTIONS);
        assertThat(state.promotions())
                .doesNotContainKey("s10")
                .containsKey("s11")
                .containsKey("s266");
        assertThat(ControlState.decode(state.encode())).isEqualTo(state);
    }

    @ParameterizedTest(name = "epoch {0}")
    @CsvSource({"-1", "0", "7", "9223372036854775807"})
    void encodedStatesAndChanges_readBackEqual(long epoch) throws Exception {
        ControlState state = epoch < 0 ? ControlState.EMPTY : new ControlState(epoch, map(epoch));
        assertThat(ControlState.decode(state.encode())).isEqualTo(state);
        ControlState migrating = new ControlState(
                epoch,
                map(epoch),
                3,
                Map.of(1, slot(1), 4095, slot(4095)),
                Map.of("s2", new Promoted("s2", "2026-12-02T10:00:00Z", "a", "b", 4, "detected")),
                Map.of("s3", handoff("s3")));
        assertThat(ControlState.decode(migrating.encode())).isEqualTo(migrating);
        MapChange change = new MapChange(3, MapChange.ANY_OLDER, epoch, map(epoch), epoch % 2 == 0);
        MapChange promoting = new MapChange(
                3, MapChange.ANY_OLDER, epoch, map(epoch), false, new Promoted("s1", "t", "a", "b", -1, "forced"));
        assertThat(MapChange.decode(promoting.encode())).isEqualTo(promoting);
        assertThat(MapChange.decode(change.encode())).isEqualTo(change);
        ProgressChange progress = new ProgressChange(3, epoch, List.of(slot(2), slot(7)));
        assertThat(ControlChange.decode(progress.encode())).isEqualTo(progress);
        for (HandoffChange handoff :
                List.of(new HandoffChange(3, "s1", handoff("s1")), new HandoffChange(3, "s1", null))) {
            assertThat(ControlChange.decode(handoff.encode())).isEqualTo(handoff);
        }
    }

    /** Logs and snapshots written before migrations had progress (format 1) still read. */
    @Test
    void theFirstFormat_stillReads() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeInt(1);
        out.writeLong(7);
        out.writeInt(map(7).length);
        out.write(map(7));
        assertThat(ControlState.decode(bytes.toByteArray())).isEqualTo(new ControlState(7, map(7)));

        bytes.reset();
        out.writeInt(1);
        out.writeLong(2);
        out.writeLong(6);
        out.writeLong(7);
        out.writeInt(map(7).length);
        out.write(map(7));
        assertThat(MapChange.decode(bytes.toByteArray())).isEqualTo(new MapChange(2, 6, 7, map(7)));
    }

    private static CopiedSlot slot(int slot) {
        return new CopiedSlot(slot, "s4", "127.0.0.1:7007", "h" + slot, 10L * slot, slot, 100L * slot);
    }

    private static byte[] map(long epoch) {
        return ("{\"epoch\":" + epoch + "}").getBytes(UTF_8);
    }
}
