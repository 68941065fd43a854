package dev.qache.loadtests.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.qache.loadtests.faults.History.Op;
import dev.qache.loadtests.faults.History.Outcome;
import dev.qache.loadtests.faults.History.Type;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Table-driven: each row is a history of one key, written as {@code op@invoke-complete} steps in
 * milliseconds: {@code w:v} a write of v, {@code d} a delete, {@code r:v} a read of v, {@code r:-}
 * a miss; {@code w:v/ttl} a write with a TTL in ms; a trailing {@code ?} is an unknown outcome,
 * {@code !} a certain failure; {@code fault@t} a fault starting at t. Staleness 100 ms, window 1000 ms. Expected: lost writes, undone
 * deletes, invented reads, and how many of the undone were outside the window.
 */
class CheckerTest {

    private static final long MS = 1_000_000L;

    static Stream<Arguments> rows() {
        return Stream.of(
                Arguments.of("reads see the latest write", "w:a@0-10 r:a@20-30 w:b@40-50 r:b@200-210", 0, 0, 0, 0),
                Arguments.of(
                        "a read a little behind (a replica) is not a loss",
                        "w:a@0-10 w:b@40-50 r:a@60-70 r:b@300-310",
                        0,
                        0,
                        0,
                        0),
                Arguments.of(
                        "a write acknowledged just before a fault and never seen again: lost inside the window",
                        "w:a@0-10 w:b@100-110 fault@130 r:a@500-510 r:a@900-910",
                        1,
                        0,
                        0,
                        0),
                Arguments.of(
                        "a write acknowledged long before any fault and not seen: lost outside the window",
                        "w:a@0-10 w:b@100-110 r:a@500-510 fault@5000",
                        1,
                        0,
                        0,
                        1),
                Arguments.of(
                        "a deleted value coming back after the delete was acknowledged: undone delete",
                        "w:a@0-10 d@100-110 r:-@300-310 r:a@600-610",
                        0,
                        1,
                        0,
                        1),
                Arguments.of(
                        "an overwritten value coming back after the newer one was seen: a lost write",
                        "w:a@0-10 w:b@100-110 r:b@300-310 r:a@600-610",
                        1,
                        0,
                        0,
                        1),
                Arguments.of("a value nobody wrote is invented", "w:a@0-10 r:zzz@50-60", 0, 0, 1, 0),
                Arguments.of("a value read before its write was invoked is invented", "r:a@0-10 w:a@50-60", 0, 0, 1, 0),
                Arguments.of(
                        "an unknown write may show up at any time after its invocation, or never",
                        "w:a@0-10 w:b?@100-1100 r:a@1500-1510 r:b@1600-1610 r:b@3000-3010",
                        0,
                        0,
                        0,
                        0),
                Arguments.of("a failed write is never expected", "w:a@0-10 w:b!@100-110 r:a@1500-1510", 0, 0, 0, 0),
                Arguments.of(
                        "a miss before the first write is no loss; after an acknowledged write it is",
                        "r:-@0-5 w:a@10-20 r:-@500-510 fault@15",
                        1,
                        0,
                        0,
                        0),
                Arguments.of(
                        "a write with a TTL may read as a miss once it can have expired",
                        "w:a/1000@0-10 r:a@500-510 r:-@1005-1020 r:-@3000-3010",
                        0,
                        0,
                        0,
                        0),
                Arguments.of(
                        "a miss before its TTL can have passed is a lost write",
                        "w:a/1000@0-10 r:-@500-510 fault@9000",
                        1,
                        0,
                        0,
                        1),
                Arguments.of(
                        "the value a write with a TTL replaced never comes back, even once it expired",
                        "w:a@0-10 w:b/1000@100-110 r:b@300-310 r:a@2000-2010 fault@9000",
                        1,
                        0,
                        0,
                        1),
                Arguments.of(
                        "each undone mutation counts once however many reads miss it",
                        "w:a@0-10 w:b@100-110 fault@120 r:a@500-510 r:a@600-610 r:a@700-710",
                        1,
                        0,
                        0,
                        0));
    }

    /** An expired value read after its TTL (and the slack) has surely passed. */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', textBlock = """
            read well before the TTL ends | w:a/1000@0-10 r:a@900-910 | 0
            read as it expires, within the slack | w:a/1000@0-10 r:a@1050-1060 | 0
            read long after it expired | w:a/1000@0-10 r:a@1500-1510 | 1
            an unknown write may be applied late: its TTL is not judged | w:a/1000?@0-10 r:a@1500-1510 | 0
            """)
    void expiredValues(String scenario, String script, int expired) {
        assertThat(run(script).expiredServed()).as(scenario).hasSize(expired);
    }

    private static Checker.Result run(String script) {
        History history = new History();
        for (String step : script.split(" ")) {
            if (step.startsWith("fault@")) {
                long at = Long.parseLong(step.substring(6)) * MS;
                history.fault(new History.Fault("kill", "n", at, at + 100 * MS));
                continue;
            }
            String[] opTimes = step.split("@");
            String[] times = opTimes[1].split("-");
            String op = opTimes[0];
            Outcome outcome = Outcome.OK;
            if (op.endsWith("?")) {
                outcome = Outcome.INFO;
                op = op.substring(0, op.length() - 1);
            } else if (op.endsWith("!")) {
                outcome = Outcome.FAIL;
                op = op.substring(0, op.length() - 1);
            }
            Type type = op.startsWith("w") ? Type.WRITE : op.startsWith("d") ? Type.DELETE : Type.READ;
            String value = op.contains(":") ? op.substring(op.indexOf(':') + 1) : null;
            long ttl = 0;
            if (value != null && value.contains("/")) {
                ttl = Long.parseLong(value.substring(value.indexOf('/') + 1)) * MS;
                value = value.substring(0, value.indexOf('/'));
            }
            if ("-".equals(value)) {
                value = null;
            }
            history.add(new Op(
                    type == Type.READ ? 1 : 0,
                    type,
                    "k",
                    value,
                    Long.parseLong(times[0]) * MS,
                    Long.parseLong(times[1]) * MS,
                    outcome,
                    ttl));
        }
        return new Checker(100 * MS, 1000 * MS, key -> "s1").check(history);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void check(String scenario, String script, int lost, int undoneDeletes, int invented, int outside) {
        Checker.Result result = run(script);
        assertThat(result.lostWrites()).as(scenario + ": lost writes").hasSize(lost);
        assertThat(result.undoneDeletes()).as(scenario + ": undone deletes").hasSize(undoneDeletes);
        assertThat(result.invented()).as(scenario + ": invented").hasSize(invented);
        assertThat(result.outsideWindow()).as(scenario + ": outside the window").isEqualTo(outside);
    }
}
