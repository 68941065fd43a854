package dev.qache.router.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

import dev.qache.router.migration.Migration.Move;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Table-driven: a plan, limits, a script of events, and the trace they must produce. Plan: {@code
 * slot:from>to} separated by spaces. Events, separated by {@code ;}: {@code start@ms}, {@code
 * tick@ms} (traced as the slots it starts), {@code copied:slot:bytes@ms} (the answer of the slot's
 * latest attempt), {@code late:slot:bytes@ms} (the answer of its first attempt, after a newer one
 * began), {@code failed:slot@ms}, {@code changed:shard} (a primary changed), {@code rate:bytesPerSecond@ms},
 * {@code commit}, {@code abort}, {@code resumed:slot} (copied under an earlier leader, before the
 * start). After every event but a tick the trace gets the state.
 */
class MigrationTest {

    private static final long MS = 1_000_000L;
    private static final Migration.Mark MARK = new Migration.Mark("h", 1);

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            copies in order, two at a time, then cuts over | 1:a>d 2:a>d 3:b>d | 2 | 1000000 | 3 | start@0;tick@0;tick@1;copied:1:100@2;tick@2;copied:2:100@3;copied:3:100@4;tick@5;commit | STREAMING [1,2] [] STREAMING [3] STREAMING CUTOVER [] DONE
            the rate holds new copies back until time catches up | 1:a>d 2:a>d 3:a>d | 1 | 1000 | 3 | start@0;tick@0;copied:1:2000@10;tick@10;tick@1999;tick@2000;copied:2:10@2001;tick@2001;tick@2010 | STREAMING [1] STREAMING [] [] [2] STREAMING [] [3]
            a failed copy is retried once its backoff is over | 1:a>d | 1 | 1000000 | 3 | start@0;tick@0;failed:1@1;tick@250;tick@251;copied:1:5@260 | STREAMING [1] STREAMING [] [1] CUTOVER
            other slots are copied while a failed one backs off | 1:a>d 2:a>d 3:a>d | 1 | 1000000 | 3 | start@0;tick@0;failed:1@0;tick@1;copied:2:5@2;tick@2;copied:3:5@3;tick@3;tick@250 | STREAMING [1] STREAMING [2] STREAMING [3] STREAMING [] [1]
            the backoff doubles with each failure | 1:a>d | 1 | 1000000 | 4 | start@0;tick@0;failed:1@0;tick@250;failed:1@250;tick@749;tick@750;failed:1@750;tick@1749;tick@1750 | STREAMING [1] STREAMING [1] STREAMING [] [1] STREAMING [] [1]
            too many failures abort | 1:a>d | 1 | 1000000 | 2 | start@0;tick@0;failed:1@0;tick@250;failed:1@250;tick@2000 | STREAMING [1] STREAMING [1] ABORTED []
            a failover ends a backoff | 1:a>d | 1 | 1000000 | 3 | start@0;tick@0;failed:1@0;changed:a;tick@1 | STREAMING [1] STREAMING STREAMING [1]
            a source failover restarts its copies in flight | 1:a>d 2:b>d | 2 | 1000000 | 3 | start@0;tick@0;changed:a;copied:1:5@1;tick@1;copied:2:5@2;copied:1:5@3 | STREAMING [1,2] STREAMING STREAMING [1] STREAMING CUTOVER
            a target failover copies again what it had received | 1:a>d 2:a>d | 1 | 1000000 | 3 | start@0;tick@0;copied:1:5@1;changed:d;tick@2;copied:1:5@3;tick@3 | STREAMING [1] STREAMING STREAMING [1] STREAMING [2]
            a target failover during cut-over goes back to streaming | 1:a>d | 1 | 1000000 | 3 | start@0;tick@0;copied:1:5@1;changed:d;tick@2 | STREAMING [1] CUTOVER STREAMING [1]
            an unrelated failover changes nothing | 1:a>d | 1 | 1000000 | 3 | start@0;tick@0;changed:z;copied:1:5@1 | STREAMING [1] STREAMING CUTOVER
            a copy reported after an abort is ignored | 1:a>d 2:a>d | 2 | 1000000 | 3 | start@0;tick@0;abort;copied:1:5@1;tick@2 | STREAMING [1,2] ABORTED ABORTED []
            a late answer of an attempt a failover voided completes nothing | 1:a>d | 1 | 1000000 | 3 | start@0;tick@0;changed:a;tick@1;late:1:5@2;tick@3;copied:1:5@4 | STREAMING [1] STREAMING [1] STREAMING [] CUTOVER
            a late failure of an earlier attempt fails nothing | 1:a>d 2:a>d | 1 | 1000000 | 3 | start@0;tick@0;failed:1@0;tick@250;late:1:5@251;copied:1:5@252;tick@253 | STREAMING [1] STREAMING [1] STREAMING STREAMING [2]
            a lower rate holds copies back from then on | 1:a>d 2:a>d 3:a>d | 1 | 1000000 | 3 | start@0;tick@0;rate:1000@0;copied:1:1000@1;tick@1;tick@1000;copied:2:1000@1001;tick@1500;tick@2001 | STREAMING [1] STREAMING STREAMING [] [2] STREAMING [] [3]
            at most one second of rate is saved up | 1:a>d 2:a>d 3:a>d | 1 | 1000 | 3 | start@0;tick@0;copied:1:1@1;tick@10000;copied:2:3000@10001;tick@10002;tick@12000;tick@12001 | STREAMING [1] STREAMING [2] STREAMING [] [] [3]
            slots copied under an earlier leader are not copied again | 1:a>d 2:a>d 3:a>d | 2 | 1000000 | 3 | resumed:2;start@0;tick@0;copied:1:5@1;copied:3:5@2 | PLANNED STREAMING [1,3] STREAMING CUTOVER
            resumed with every slot copied: straight to the cut-over | 1:a>d 2:b>d | 2 | 1000000 | 3 | resumed:1;resumed:2;start@0;tick@0 | PLANNED PLANNED CUTOVER []
            a slot resumed twice counts once | 1:a>d 2:a>d | 1 | 1000000 | 3 | resumed:1;resumed:1;start@0;tick@0;copied:2:5@1 | PLANNED PLANNED STREAMING [2] CUTOVER
            a target failover copies a resumed slot again | 1:a>d 2:a>d | 1 | 1000000 | 3 | resumed:1;start@0;tick@0;changed:d;tick@1;copied:1:5@2;tick@2 | PLANNED STREAMING [2] STREAMING [1] STREAMING [2]
            a source failover leaves a resumed slot done | 1:a>d 2:b>d | 1 | 1000000 | 3 | resumed:1;start@0;changed:a;tick@0;copied:2:5@1 | PLANNED STREAMING STREAMING [2] CUTOVER
            """)
    void script(String name, String plan, int inFlight, long rate, int attempts, String events, String expected) {
        List<Move> moves = new ArrayList<>();
        for (String move : plan.trim().split(" ")) {
            String[] slotAndShards = move.split(":");
            String[] shards = slotAndShards[1].split(">");
            moves.add(new Move(Integer.parseInt(slotAndShards[0]), shards[0], shards[1]));
        }
        Migration migration = new Migration("m1", moves, inFlight, rate, attempts);
        java.util.Map<Integer, List<Long>> begun = new java.util.HashMap<>();
        List<String> trace = new ArrayList<>();
        for (String event : events.trim().split(";")) {
            String[] at = event.split("@");
            long now = at.length > 1 ? Long.parseLong(at[1]) * MS : 0;
            String[] parts = at[0].split(":");
            switch (parts[0]) {
                case "start" -> migration.start(now);
                case "tick" -> {
                    List<Migration.Copy> started = migration.tick(now);
                    started.forEach(c -> begun.computeIfAbsent(c.slot(), k -> new ArrayList<>())
                            .add(c.attempt()));
                    trace.add(started.stream()
                            .map(m -> Integer.toString(m.slot()))
                            .collect(Collectors.joining(",", "[", "]")));
                    continue;
                }
                case "copied", "late" -> {
                    int slot = Integer.parseInt(parts[1]);
                    List<Long> tries = begun.get(slot);
                    long attempt = parts[0].equals("late") ? tries.get(0) : tries.get(tries.size() - 1);
                    migration.copied(slot, attempt, 1, Long.parseLong(parts[2]), MARK, now);
                }
                case "failed" -> {
                    List<Long> tries = begun.get(Integer.parseInt(parts[1]));
                    migration.failed(Integer.parseInt(parts[1]), tries.get(tries.size() - 1), "test", now);
                }
                case "rate" -> migration.rate(Long.parseLong(parts[1]), now);
                case "changed" -> migration.primaryChanged(parts[1]);
                case "commit" -> migration.committed();
                case "abort" -> migration.abort("test");
                case "resumed" -> migration.resumed(Integer.parseInt(parts[1]), 1, 5, MARK);
                default -> throw new IllegalArgumentException(event);
            }
            trace.add(migration.state().name());
        }
        assertThat(String.join(" ", trace)).isEqualTo(expected.trim());
    }

    /**
     * Cut-over waits for the targets' replicas. Copies: {@code slot>shard:history/offset}, each
     * answered in turn. Replicas: {@code shard:address:state:history/offset}, state one of up,
     * down, syncing. Expected: the replicas waited for, or "none".
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            a replica at the last copy's offset lets the map flip | 1>d:h/10 2>d:h/20 | d:r1:up:h/20 | none
            a replica behind the last copy holds it back | 1>d:h/10 2>d:h/20 | d:r1:up:h/15 | r1
            the highest offset counts, whatever the order of answers | 1>d:h/20 2>d:h/10 | d:r1:up:h/15 | r1
            every replica that could be promoted is waited for | 1>d:h/10 | d:r1:up:h/10 d:r2:up:h/9 | r2
            a replica that is down is not waited for | 1>d:h/10 | d:r1:down:h/0 d:r2:up:h/10 | none
            a replica in its full sync is not waited for | 1>d:h/10 | d:r1:syncing:/0 | none
            a replica on another history holds it back | 1>d:h/10 | d:r1:up:g/50 | r1
            each target shard has its own mark | 1>d:h/10 2>e:k/5 | d:r1:up:h/10 e:r2:up:k/4 | r2
            a target without replicas has nothing to wait for | 1>d:h/10 | none | none
            """)
    void cutOver(String name, String copies, String replicas, String expected) {
        List<Move> moves = new ArrayList<>();
        for (String copy : copies.trim().split(" ")) {
            String[] slotAndRest = copy.split(">");
            moves.add(new Move(
                    Integer.parseInt(slotAndRest[0]), "a", slotAndRest[1].split(":")[0]));
        }
        Migration migration = new Migration("m", moves, moves.size(), 1L << 40, 3);
        migration.start(0);
        List<Migration.Copy> started = migration.tick(0);
        String[] answers = copies.trim().split(" ");
        for (int i = 0; i < answers.length; i++) {
            String[] position = answers[i].split(":")[1].split("/");
            Migration.Copy copy = started.get(i); // started in the plan's order, all at once
            migration.copied(
                    copy.slot(),
                    copy.attempt(),
                    1,
                    1,
                    new Migration.Mark(position[0], Long.parseLong(position[1])),
                    MS);
        }
        assertThat(migration.state()).isEqualTo(Migration.State.CUTOVER);
        java.util.Map<String, List<Migration.Replica>> byShard = new java.util.HashMap<>();
        if (!replicas.trim().equals("none")) {
            for (String replica : replicas.trim().split(" ")) {
                String[] f = replica.split(":");
                String[] position = f[3].split("/", -1);
                byShard.computeIfAbsent(f[0], k -> new ArrayList<>())
                        .add(new Migration.Replica(
                                f[1],
                                !f[2].equals("down"),
                                !f[2].equals("syncing"),
                                position[0],
                                Long.parseLong(position[1])));
            }
        }
        List<String> behind = migration.replicasBehind(byShard);
        String waited = behind.isEmpty()
                ? "none"
                : behind.stream().map(b -> b.split(" ")[0]).collect(Collectors.joining(" "));
        assertThat(waited).isEqualTo(expected.trim());
        assertThat(migration.progress(MS).reason())
                .isEqualTo(behind.isEmpty() ? "" : "waiting for replicas: " + String.join("; ", behind));
    }

    @org.junit.jupiter.api.Test
    void plan_movesExactlyTheSlotsWhoseOwnerChanges_addingAndRemovingAShard() {
        var ring3 = new dev.qache.router.ring.HashRing(List.of("s1", "s2", "s3"));
        var three = dev.qache.router.ring.SlotPlanner.initial(ring3);
        var four = dev.qache.router.ring.SlotPlanner.withShardAdded(
                three, "s4", new dev.qache.router.ring.HashRing(List.of("s1", "s2", "s3", "s4")));

        List<Move> add = Migration.plan(three, four);
        assertThat(add).allSatisfy(move -> assertThat(move.to()).isEqualTo("s4"));
        assertThat(add).hasSize(four.counts().get("s4"));
        assertThat(add.size()).isBetween(16384 / 4 - 1, 16384 / 4 + 1);

        var back = dev.qache.router.ring.SlotPlanner.withShardRemoved(four, "s4", ring3);
        List<Move> remove = Migration.plan(four, back);
        assertThat(remove).allSatisfy(move -> assertThat(move.from()).isEqualTo("s4"));
        assertThat(remove).hasSize(add.size());
    }

    @org.junit.jupiter.api.Test
    void progress_reportsSlotsKeysBytesRateAndEta() {
        Migration migration = new Migration(
                "m", List.of(new Move(1, "a", "b"), new Move(2, "a", "b"), new Move(3, "a", "b")), 1, 1L << 40, 3);
        migration.start(0);
        long attempt = migration.tick(0).get(0).attempt();
        migration.copied(1, attempt, 10, 1000, MARK, 1_000 * MS);

        Migration.Progress progress = migration.progress(1_000 * MS);
        assertThat(progress.slotsDone()).isEqualTo(1);
        assertThat(progress.slotsTotal()).isEqualTo(3);
        assertThat(progress.keysCopied()).isEqualTo(10);
        assertThat(progress.bytesCopied()).isEqualTo(1000);
        assertThat(progress.bytesPerSecond()).isEqualTo(1000.0);
        assertThat(progress.etaSeconds()).isEqualTo(2.0);
    }

    @org.junit.jupiter.api.Test
    void badPlansAndOutOfOrderCallsAreRefused() {
        assertThatIllegalArgumentException().isThrownBy(() -> new Migration("m", List.of(), 1, 1, 1));
        assertThatIllegalArgumentException()
                .isThrownBy(() -> new Migration("m", List.of(new Move(1, "a", "b"), new Move(1, "a", "c")), 1, 1, 1));
        assertThatIllegalArgumentException()
                .isThrownBy(() -> new Migration("m", List.of(new Move(1, "a", "a")), 1, 1, 1));
        Migration migration = new Migration("m", List.of(new Move(1, "a", "b")), 1, 1, 1);
        assertThatIllegalStateException().isThrownBy(migration::committed);
        assertThat(migration.resumed(2, 1, 1, MARK))
                .as("a slot not in the plan")
                .isFalse();
        migration.start(0);
        assertThatIllegalStateException().isThrownBy(() -> migration.start(0));
        assertThatIllegalStateException().isThrownBy(() -> migration.resumed(1, 1, 1, MARK));
    }

    @org.junit.jupiter.api.Test
    void resumedSlots_countInTheTotalsAndTheCutOverMarks_notInTheRate() {
        Migration migration = new Migration("m", List.of(new Move(1, "a", "b"), new Move(2, "a", "b")), 1, 1L << 40, 3);
        assertThat(migration.resumed(1, 7, 700, new Migration.Mark("h2", 9))).isTrue();
        migration.start(0);
        long attempt = migration.tick(0).get(0).attempt();
        migration.copied(2, attempt, 10, 1000, new Migration.Mark("h2", 4), 1_000 * MS);

        Migration.Progress progress = migration.progress(1_000 * MS);
        assertThat(progress.state()).isEqualTo(Migration.State.CUTOVER);
        assertThat(progress.keysCopied()).isEqualTo(17);
        assertThat(progress.bytesCopied()).isEqualTo(1700);
        assertThat(progress.bytesPerSecond()).isEqualTo(1000.0);
        assertThat(migration.marks()).containsEntry("b", new Migration.Mark("h2", 9));
        assertThat(migration.replicasBehind(
                        java.util.Map.of("b", List.of(new Migration.Replica("r1", true, true, "h2", 5)))))
                .containsExactly("r1 of b is at offset 5 of 9");
    }
}
