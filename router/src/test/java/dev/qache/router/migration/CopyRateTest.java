package dev.qache.router.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Table-driven: settings max 1000, start 100, min 10, factor 1.5, floor 2000 µs. Events separated
 * by spaces: {@code s:requests:p99} (a steady window), {@code start}, {@code d:requests:p99} (a
 * window during the copy). Expected: the rate after each start and copy window.
 */
class CopyRateTest {

    private static final CopyRate.Settings SETTINGS = new CopyRate.Settings(1000, 100, 10, 1.5, 2000);

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            a copy starts slow and grows by a quarter while clients are fine | start d:100:1000 d:100:1000 d:100:1000 | 100 125 156 195
            it backs off by 30% while the p99 is above the floor, with no baseline | start d:100:2001 d:100:2001 d:100:1000 | 100 70 49 61
            the baseline sets the target above the floor | s:100:4000 s:100:4000 s:100:4000 start d:100:5999 d:100:6001 | 100 125 87
            the baseline is the 90th percentile of steady windows, an outlier aside | s:100:2000 s:100:2000 s:100:2000 s:100:2000 s:100:2000 s:100:2000 s:100:2000 s:100:2000 s:100:2000 s:100:10000 start d:100:2999 d:100:3001 | 100 125 87
            steady windows with too few requests do not count | s:5:100000 start d:100:2001 | 100 70
            a copy window with too few requests says nothing: the rate grows | start d:19:999999 | 100 125
            the rate never goes below the minimum | start d:100:9999 d:100:9999 d:100:9999 d:100:9999 d:100:9999 d:100:9999 d:100:9999 | 100 70 49 34 23 16 11 10
            nor above the maximum | start d:1:0 d:1:0 d:1:0 d:1:0 d:1:0 d:1:0 d:1:0 d:1:0 d:1:0 d:1:0 d:1:0 | 100 125 156 195 243 303 378 472 590 737 921 1000
            a small rate grows by at least the minimum | start d:100:9999 d:100:9999 d:100:9999 d:100:9999 d:100:9999 d:100:9999 d:100:9999 d:1:0 | 100 70 49 34 23 16 11 10 20
            a new copy starts slow again | start d:1:0 d:1:0 start | 100 125 156 100
            """)
    void rates(String name, String events, String expected) {
        CopyRate rate = new CopyRate(SETTINGS);
        List<String> trace = new ArrayList<>();
        for (String event : events.trim().split(" ")) {
            String[] parts = event.split(":");
            switch (parts[0]) {
                case "s" -> rate.steady(Long.parseLong(parts[1]), Long.parseLong(parts[2]));
                case "start" -> trace.add(Long.toString(rate.start()));
                case "d" -> trace.add(Long.toString(rate.during(Long.parseLong(parts[1]), Long.parseLong(parts[2]))));
                default -> throw new IllegalArgumentException(event);
            }
        }
        assertThat(String.join(" ", trace)).isEqualTo(expected.trim());
    }

    @Test
    void settingsOutOfOrder_areRefused() {
        assertThatIllegalArgumentException().isThrownBy(() -> new CopyRate.Settings(100, 200, 10, 1.5, 0));
        assertThatIllegalArgumentException().isThrownBy(() -> new CopyRate.Settings(100, 50, 0, 1.5, 0));
        assertThatIllegalArgumentException().isThrownBy(() -> new CopyRate.Settings(100, 50, 10, 0.5, 0));
    }
}
