package dev.qache.router.failover;

import static org.assertj.core.api.Assertions.assertThat;

import dev.qache.router.failover.FailureDetector.Health;
import dev.qache.router.failover.FailureDetector.Probe;
import dev.qache.router.failover.FailureDetector.Transition;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Table-driven: each row is a script of events for node "n" (timeout 100 ms, threshold 3) and the
 * health after each event. Events: {@code tick@T} (T in ms; sends a probe when none is
 * outstanding), {@code ok} / {@code fail} (the answer to the newest probe), {@code late} (an
 * answer to the probe before the newest one).
 */
class FailureDetectorTest {

    private static final long MS = 1_000_000L;

    static Stream<Arguments> scripts() {
        return Stream.of(
                Arguments.of("answers keep it up", "tick@0 ok tick@100 ok", "UP UP UP UP"),
                Arguments.of(
                        "refused three times: down at the third (a killed node)",
                        "tick@0 fail tick@100 fail tick@200 fail",
                        "UP SUSPECT SUSPECT SUSPECT SUSPECT DOWN"),
                Arguments.of(
                        "never answers: each timeout counts at the next tick (a frozen node)",
                        "tick@0 tick@50 tick@100 tick@200 tick@300",
                        "UP UP SUSPECT SUSPECT DOWN"),
                Arguments.of(
                        "one success clears the failures",
                        "tick@0 fail tick@100 fail tick@200 ok tick@300 fail",
                        "UP SUSPECT SUSPECT SUSPECT SUSPECT UP UP SUSPECT"),
                Arguments.of(
                        "a down node that answers again is up",
                        "tick@0 fail tick@100 fail tick@200 fail tick@300 ok",
                        "UP SUSPECT SUSPECT SUSPECT SUSPECT DOWN DOWN UP"),
                Arguments.of(
                        "a late answer to a timed-out probe is ignored",
                        "tick@0 tick@100 late tick@200 tick@300",
                        "UP SUSPECT SUSPECT SUSPECT DOWN"),
                Arguments.of("no second probe while one is outstanding", "tick@0 tick@10 tick@20 ok", "UP UP UP UP"));
    }

    /** Runs a script; returns the health after each event, and collects the transitions. */
    private static List<String> run(String events, List<Transition> transitions) {
        FailureDetector detector = new FailureDetector(100 * MS, 3);
        detector.watch(List.of("n"));
        List<String> healths = new ArrayList<>();
        long newest = -1;
        long previous = -1;
        for (String event : events.split(" ")) {
            if (event.startsWith("tick@")) {
                for (Probe probe : detector.tick(Long.parseLong(event.substring(5)) * MS, transitions)) {
                    previous = newest;
                    newest = probe.sequence();
                }
            } else if (event.equals("ok")) {
                detector.succeeded("n", newest, transitions);
            } else if (event.equals("fail")) {
                detector.failed("n", newest, transitions);
            } else if (event.equals("late")) {
                detector.succeeded("n", previous, transitions);
            }
            healths.add(detector.health("n").name());
        }
        return healths;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scripts")
    void script(String name, String events, String expected) {
        assertThat(String.join(" ", run(events, new ArrayList<>()))).isEqualTo(expected);
    }

    @ParameterizedTest(name = "transitions are reported once each: {0}")
    @MethodSource("scripts")
    void transitionsMatchHealthChanges(String name, String events, String expected) {
        List<Transition> transitions = new ArrayList<>();
        run(events, transitions);
        List<String> changes = new ArrayList<>();
        String last = "UP";
        for (String health : expected.split(" ")) {
            if (!health.equals(last)) {
                changes.add(last + "->" + health);
                last = health;
            }
        }
        assertThat(transitions.stream().map(t -> t.from() + "->" + t.to()).toList())
                .isEqualTo(changes);
    }

    @org.junit.jupiter.api.Test
    void watch_addsNewNodesUp_andForgetsRemovedOnes() {
        FailureDetector detector = new FailureDetector(100 * MS, 1);
        List<Transition> transitions = new ArrayList<>();
        detector.watch(List.of("a", "b"));
        Map<String, Long> sent = new java.util.HashMap<>();
        detector.tick(0, transitions).forEach(p -> sent.put(p.node(), p.sequence()));
        detector.failed("a", sent.get("a"), transitions);
        assertThat(detector.health("a")).isEqualTo(Health.DOWN);

        detector.watch(List.of("b", "c"));

        assertThat(detector.health("a")).as("forgotten").isEqualTo(Health.UP);
        assertThat(detector.tick(1, transitions).stream().map(Probe::node)).containsExactly("c");
    }
}
