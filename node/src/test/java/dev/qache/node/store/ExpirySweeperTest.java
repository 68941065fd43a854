package dev.qache.node.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ExpirySweeperTest {

    private static final Duration IDLE = Duration.ofMillis(100);
    private static final Duration BUSY_PAUSE = Duration.ofMillis(1);

    private final FakeClock clock = new FakeClock();
    private final SegmentedLruStore store = new SegmentedLruStore(256L << 20, 16, EntrySizer.DEFAULT_LAYOUT, clock);

    private void fill(int keys, Duration ttl) {
        for (int i = 0; i < keys; i++) {
            store.put(("k" + i).getBytes(UTF_8), "v".getBytes(UTF_8), clock.currentTimeMillis() + ttl.toMillis());
        }
    }

    @Test
    void sweep_nothingDue_waitsIdleInterval() {
        fill(100, Duration.ofSeconds(10));

        ExpirySweeper sweeper = new ExpirySweeper(store, IDLE, BUSY_PAUSE, Duration.ofMillis(25), System::nanoTime);

        assertThat(sweeper.sweep()).isEqualTo(IDLE.toMillis());
        assertThat(store.stats().keys()).isEqualTo(100);
    }

    @Test
    void sweep_withinBudget_reclaimsAllExpiredKeysNobodyReads() {
        fill(50_000, Duration.ofSeconds(1));
        clock.advance(Duration.ofSeconds(1));

        ExpirySweeper sweeper = new ExpirySweeper(store, IDLE, BUSY_PAUSE, Duration.ofSeconds(60), System::nanoTime);

        assertThat(sweeper.sweep()).isEqualTo(IDLE.toMillis());
        assertThat(store.stats().keys()).isZero();
        assertThat(store.stats().usedBytes()).isZero();
        StoreInvariants.check(store);
    }

    @Test
    void sweep_backlogLargerThanOneRun_comesBackAfterBusyPauseUntilDrained() {
        fill(20_000, Duration.ofSeconds(1));
        clock.advance(Duration.ofSeconds(1));
        // Each look at the time costs a simulated millisecond; a run may last 5 of them.
        AtomicLong nanos = new AtomicLong();
        ExpirySweeper sweeper =
                new ExpirySweeper(store, IDLE, BUSY_PAUSE, Duration.ofMillis(5), () -> nanos.addAndGet(1_000_000));

        int runs = 0;
        long delay;
        do {
            delay = sweeper.sweep();
            runs++;
            assertThat(runs).as("drains in a bounded number of runs").isLessThan(100);
        } while (delay == BUSY_PAUSE.toMillis());

        assertThat(delay).isEqualTo(IDLE.toMillis());
        assertThat(runs)
                .as("the backlog took several short runs, not one long one")
                .isGreaterThan(1);
        assertThat(store.stats().keys()).isZero();
        StoreInvariants.check(store);
    }
}
