package dev.qache.router.control;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The rules every router applies to an entry of the group's log, table-driven: a map change
 * applies only over the map it was computed from, only with a newer epoch, and only in the term of
 * the leader that proposed it. The state is at epoch 5 unless the row says empty (-1).
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

    @ParameterizedTest(name = "epoch {0}")
    @CsvSource({"-1", "0", "7", "9223372036854775807"})
    void encodedStatesAndChanges_readBackEqual(long epoch) throws Exception {
        ControlState state = epoch < 0 ? ControlState.EMPTY : new ControlState(epoch, map(epoch));
        assertThat(ControlState.decode(state.encode())).isEqualTo(state);
        MapChange change = new MapChange(3, MapChange.ANY_OLDER, epoch, map(epoch));
        assertThat(MapChange.decode(change.encode())).isEqualTo(change);
    }

    private static byte[] map(long epoch) {
        return ("{\"epoch\":" + epoch + "}").getBytes(UTF_8);
    }
}
