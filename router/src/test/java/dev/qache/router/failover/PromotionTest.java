package dev.qache.router.failover;

import static org.assertj.core.api.Assertions.assertThat;

import dev.qache.router.failover.FailureDetector.Health;
import dev.qache.router.failover.Promotion.Status;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Table-driven: shard s1 has primary "p" and replicas "r1", "r2"; lease 600 ms, margin 50 ms,
 * max-replica-lag 1000 bytes. Each row gives each node's last status in a short notation, which
 * nodes are DOWN, when the primary's last lease was answered (ms, or "none") and the time now (ms),
 * and the decision expected, written as {@code keep}, {@code promote r1}, {@code wait r1 until
 * 650} or {@code blocked}, plus whether the primary's probes carry a lease.
 *
 * <p>Status notation: {@code role/history@offset} with flags: {@code ~} not synced, {@code
 * >node} the primary it follows, {@code prev=h:end} its previous history and where it ended.
 */
class PromotionTest {

    private static final long MS = 1_000_000L;
    private static final Promotion.Shard SHARD = new Promotion.Shard("s1", "p", List.of("r1", "r2"));

    static Stream<Arguments> rows() {
        return Stream.of(
                Arguments.of(
                        "a healthy primary keeps its place and its lease",
                        "p=primary/h1@500 r1=replica/h1@500>p r2=replica/h1@400>p",
                        "",
                        "0",
                        "10",
                        "keep",
                        "h1"),
                Arguments.of(
                        "down primary: the eligible replica with the highest offset, once the lease ran out",
                        "p=primary/h1@500 r1=replica/h1@450>p r2=replica/h1@480>p",
                        "p",
                        "0",
                        "700",
                        "promote r2",
                        "h1"),
                Arguments.of(
                        "down primary, lease may still run: wait until it surely ended (answer + lease + margin)",
                        "p=primary/h1@500 r1=replica/h1@450>p r2=replica/h1@480>p",
                        "p",
                        "100",
                        "300",
                        "wait r2 until 750",
                        "h1"),
                Arguments.of(
                        "a replica still in its full sync is never promoted (the 2,412 lost keys)",
                        "p=primary/h1@500000 r1=replica~/@0>p r2=-",
                        "p",
                        "0",
                        "5000",
                        "blocked",
                        "h1"),
                Arguments.of(
                        "a replica too far behind is not eligible; the other one is",
                        "p=primary/h1@5000 r1=replica/h1@3000>p r2=replica/h1@4500>p",
                        "p",
                        "0",
                        "5000",
                        "promote r2",
                        "h1"),
                Arguments.of(
                        "every replica too far behind: blocked",
                        "p=primary/h1@5000 r1=replica/h1@3000>p r2=replica/h1@3900>p",
                        "p",
                        "0",
                        "5000",
                        "blocked",
                        "h1"),
                Arguments.of(
                        "a replica of another history is not eligible",
                        "p=primary/h1@500 r1=replica/h9@500>p r2=replica~/@0>p",
                        "p",
                        "0",
                        "5000",
                        "blocked",
                        "h1"),
                Arguments.of(
                        "a replica still in the history before the primary's promotion, within its end, is eligible",
                        "p=primary/h2@600,prev=h1:500 r1=replica/h1@500>p r2=-",
                        "p",
                        "0",
                        "5000",
                        "promote r1",
                        "h2"),
                Arguments.of(
                        "... but not past where that history ended (it holds writes the primary never had)",
                        "p=primary/h2@600,prev=h1:500 r1=replica/h1@550>p r2=-",
                        "p",
                        "0",
                        "5000",
                        "blocked",
                        "h2"),
                Arguments.of(
                        "a down replica, or one not in its replica role, is not eligible",
                        "p=primary/h1@500 r1=replica/h1@500>p r2=none/h1@500",
                        "p r1",
                        "0",
                        "5000",
                        "blocked",
                        "h1"),
                Arguments.of(
                        "the primary never answered this router: the replica's word that it streams it",
                        "p=- r1=replica/h1@500>p r2=replica/h1@500>x",
                        "p",
                        "none",
                        "5000",
                        "promote r1",
                        "none"),
                Arguments.of(
                        "primary restarted empty (new history, behind a replica holding the old one): replaced",
                        "p=none/h7@0 r1=replica/h1@500>p r2=replica/h1@450>p",
                        "",
                        "0",
                        "10",
                        "promote r1",
                        "none"),
                Arguments.of(
                        "... also once it took the map (the lease it never got kept it from writing)",
                        "p=primary/h7@0 r1=replica/h1@500>p r2=-",
                        "",
                        "0",
                        "10",
                        "promote r1",
                        "none"),
                Arguments.of(
                        "a just-promoted primary: its replicas still name the previous history",
                        "p=primary/h2@500,prev=h1:500 r1=replica/h1@500>p r2=replica/h1@480>p",
                        "",
                        "0",
                        "10",
                        "keep",
                        "h2"),
                Arguments.of(
                        "a replica of the old primary not yet following the new one proves nothing",
                        "p=primary/h2@10,prev=h1:5 r1=replica/h1@500>old r2=-",
                        "",
                        "0",
                        "10",
                        "keep",
                        "h2"),
                Arguments.of(
                        "a new cluster: an empty primary with syncing replicas",
                        "p=primary/h1@0 r1=replica~/@0>p r2=replica~/@0>p",
                        "",
                        "none",
                        "10",
                        "keep",
                        "h1"),
                Arguments.of(
                        "a primary mid-restart with no map yet and nothing to compare: no lease",
                        "p=none/@0 r1=- r2=-",
                        "",
                        "none",
                        "10",
                        "keep",
                        "none"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void decide(
            String scenario, String statuses, String down, String leaseAt, String now, String expected, String lease) {
        Map<String, Status> known = parse(statuses);
        Map<String, Health> health = new HashMap<>();
        for (String node : down.split(" ")) {
            if (!node.isEmpty()) {
                health.put(node, Health.DOWN);
            }
        }
        Promotion promotion = new Promotion(600 * MS, 50 * MS, 1000);
        long answered = leaseAt.equals("none") ? Long.MIN_VALUE : Long.parseLong(leaseAt) * MS;
        Promotion.Decision decision = promotion.decide(SHARD, known, health, answered, Long.parseLong(now) * MS);
        assertThat(describe(decision)).as(scenario).isEqualTo(expected);
        String granted = promotion.leaseFor(SHARD, known);
        assertThat(granted == null ? "none" : granted).as(scenario + " (lease)").isEqualTo(lease);
    }

    @ParameterizedTest(name = "forced: {0}")
    @MethodSource("forcedRows")
    void force(String scenario, String statuses, String leaseAt, String now, String expected) {
        Promotion promotion = new Promotion(600 * MS, 50 * MS, 1000);
        Promotion.Decision decision = promotion.force(
                SHARD,
                "r1",
                parse(statuses),
                Map.of("p", Health.DOWN),
                Long.parseLong(leaseAt) * MS,
                Long.parseLong(now) * MS);
        assertThat(describe(decision)).as(scenario).isEqualTo(expected);
    }

    static Stream<Arguments> forcedRows() {
        return Stream.of(
                Arguments.of(
                        "an operator may promote a replica that is not eligible, and is told what it may lose",
                        "p=primary/h1@5000 r1=replica/h1@1000>p r2=-",
                        "0",
                        "700",
                        "promote r1 losing 4000"),
                Arguments.of(
                        "... but not before the old primary's lease ran out",
                        "p=primary/h1@5000 r1=replica/h1@1000>p r2=-",
                        "0",
                        "100",
                        "wait r1 until 650"),
                Arguments.of(
                        "a syncing replica: the loss is not known",
                        "p=primary/h1@5000 r1=replica~/@0>p r2=-",
                        "0",
                        "700",
                        "promote r1 losing ?"),
                Arguments.of(
                        "a replica that does not answer cannot be promoted",
                        "p=primary/h1@5000 r1=- r2=-",
                        "0",
                        "700",
                        "blocked"));
    }

    private static String describe(Promotion.Decision decision) {
        return switch (decision) {
            case Promotion.Keep k -> "keep";
            case Promotion.Promote p ->
                "promote " + p.replica()
                        + (p.reason().startsWith("forced")
                                ? " losing " + (p.mayLoseBytes() < 0 ? "?" : Long.toString(p.mayLoseBytes()))
                                : "");
            case Promotion.Wait w -> "wait " + w.replica() + " until " + w.untilNanos() / MS;
            case Promotion.Blocked b -> "blocked";
        };
    }

    /** {@code node=role[~]/history@offset[,prev=h:end][>primary]} or {@code node=-} (never answered). */
    private static Map<String, Status> parse(String statuses) {
        Map<String, Status> known = new HashMap<>();
        for (String item : statuses.split(" ")) {
            String[] nameRest = item.split("=", 2);
            String rest = nameRest[1];
            if (rest.equals("-")) {
                continue;
            }
            String primary = null;
            int arrow = rest.indexOf('>');
            if (arrow >= 0) {
                primary = rest.substring(arrow + 1);
                rest = rest.substring(0, arrow);
            }
            String previous = "";
            long previousEnd = -1;
            int comma = rest.indexOf(",prev=");
            if (comma >= 0) {
                String[] prev = rest.substring(comma + 6).split(":");
                previous = prev[0];
                previousEnd = Long.parseLong(prev[1]);
                rest = rest.substring(0, comma);
            }
            String[] roleHistory = rest.split("/", 2);
            String role = roleHistory[0];
            boolean synced = !role.endsWith("~");
            role = role.replace("~", "");
            String[] historyOffset = roleHistory[1].split("@");
            known.put(
                    nameRest[0],
                    new Status(
                            role,
                            1,
                            synced,
                            primary,
                            historyOffset[0],
                            previous,
                            previousEnd,
                            Long.parseLong(historyOffset[1])));
        }
        return known;
    }
}
