package dev.qache.node.store;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** A clock that moves only when a test says so. */
final class FakeClock implements Clock {

    private final AtomicLong nowMillis;

    FakeClock(long startMillis) {
        this.nowMillis = new AtomicLong(startMillis);
    }

    FakeClock() {
        this(1_700_000_000_000L);
    }

    @Override
    public long currentTimeMillis() {
        return nowMillis.get();
    }

    void advance(Duration by) {
        nowMillis.addAndGet(by.toMillis());
    }

    void advanceMillis(long millis) {
        nowMillis.addAndGet(millis);
    }
}
