package dev.qache.node.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Rows: whether the pause began (deadline 1000 ns), ended, the time asked, the lease, and the answer. */
class WritePauseTest {

    static Stream<Arguments> rows() {
        return Stream.of(
                Arguments.of("never paused", false, false, 0L, true, false),
                Arguments.of("paused, before its deadline", true, false, 500L, true, true),
                Arguments.of(
                        "paused, past its deadline, lease still renewed: resumes", true, false, 1500L, true, false),
                Arguments.of(
                        "paused, past its deadline, no lease (the router replaced it): stays paused",
                        true,
                        false,
                        1500L,
                        false,
                        true),
                Arguments.of("ended by the router or a new map", true, true, 500L, false, false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void paused(String scenario, boolean begun, boolean ended, long now, boolean lease, boolean expected) {
        WritePause pause = new WritePause();
        if (begun) {
            pause.begin(1000L);
        }
        if (ended) {
            pause.end();
        }
        assertThat(pause.paused(now, lease)).as(scenario).isEqualTo(expected);
        // What a status answer reports after that call: the pause as the write path left it.
        assertThat(pause.inForce()).as(scenario + ": in force").isEqualTo(expected);
    }
}
