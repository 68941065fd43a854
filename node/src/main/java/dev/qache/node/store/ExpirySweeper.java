package dev.qache.node.store;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Reclaims expired entries that nobody reads. Each {@link #sweep()} removes expired entries in
 * batches until a batch comes back short (nothing more is due) or the run's time budget is spent,
 * and says when to run next: after the idle interval when the store is clean, almost at once while
 * a backlog remains.
 */
/*
 * Redis samples 20 keys with a TTL per round and repeats while more than 25% of the sample was
 * expired, because its dictionary has no expiry order. Each segment here keeps a heap by expiry,
 * so the sweeper removes exactly the expired entries, earliest first, and never looks at a live
 * one: the work is proportional to what expired, not to the keyspace. The adaptive part is the
 * schedule: a backlog (e.g. a million keys written with the same TTL) is drained in back-to-back
 * runs of at most maxRun each, separated by busyPause so client traffic keeps its share of the
 * CPU; otherwise the sweeper wakes every idleInterval.
 */
public final class ExpirySweeper {

    private static final int BATCH = 1_024;

    private final Store store;
    private final long idleIntervalMillis;
    private final long busyPauseMillis;
    private final long maxRunNanos;
    private final LongSupplier nanoTime;

    public ExpirySweeper(
            Store store, Duration idleInterval, Duration busyPause, Duration maxRun, LongSupplier nanoTime) {
        this.store = store;
        this.idleIntervalMillis = idleInterval.toMillis();
        this.busyPauseMillis = busyPause.toMillis();
        this.maxRunNanos = maxRun.toNanos();
        this.nanoTime = nanoTime;
    }

    /** Runs one sweep and returns the delay in milliseconds before the next. */
    public long sweep() {
        long deadline = nanoTime.getAsLong() + maxRunNanos;
        while (store.removeExpired(BATCH) == BATCH) {
            if (nanoTime.getAsLong() - deadline >= 0) {
                return busyPauseMillis;
            }
        }
        return idleIntervalMillis;
    }
}
