package dev.qache.router.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Table-driven: which replica a read goes to. Each row: the replicas "a b c", where the turn
 * starts, which the detector calls down, which last reported a full sync, and the choice.
 */
class ReadReplicaTest {

    static Stream<Arguments> rows() {
        return Stream.of(
                Arguments.of("all well: the one whose turn it is", "a b c", 1, "", "", "b"),
                Arguments.of("the turn wraps round", "a b c", 2, "", "", "c"),
                Arguments.of("a down replica is skipped", "a b c", 0, "a", "", "b"),
                Arguments.of("a syncing replica is skipped", "a b c", 0, "", "a", "b"),
                Arguments.of("syncing and down both skipped, wrapping", "a b c", 1, "b", "c", "a"),
                Arguments.of(
                        "only syncing ones are up: the first of them (it refuses, the primary is asked)",
                        "a b c",
                        0,
                        "a",
                        "b c",
                        "b"),
                Arguments.of("every replica down: the one whose turn it is", "a b c", 2, "a b c", "", "c"),
                Arguments.of("down and syncing everywhere: the turn's", "a b", 1, "a b", "a b", "b"),
                Arguments.of("a lone syncing replica is still the only choice", "a", 0, "", "a", "a"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void choosesTheReplica(String why, String replicas, int start, String down, String syncing, String expected) {
        Set<String> isDown = names(down);
        Set<String> isSyncing = names(syncing);
        assertThat(Routing.readReplica(List.of(replicas.split(" ")), start, isDown::contains, isSyncing::contains))
                .isEqualTo(expected);
    }

    private static Set<String> names(String list) {
        return list.isBlank() ? Set.of() : Set.of(list.split(" "));
    }
}
