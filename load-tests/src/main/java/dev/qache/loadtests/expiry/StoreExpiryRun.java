package dev.qache.loadtests.expiry;

import dev.qache.node.store.Clock;
import dev.qache.node.store.EntrySizer;
import dev.qache.node.store.ExpirySweeper;
import dev.qache.node.store.SegmentedLruStore;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A million keys that all expire at the same instant and that nobody reads: how long after that
 * instant until the store's accounted memory is back where it started. The sweeper runs as it
 * does in the node (own thread, default schedule: 100 ms idle interval, 25 ms runs, 1 ms pauses).
 *
 * <p>Usage: {@code java -Xmx4g -cp benchmarks.jar dev.qache.loadtests.expiry.StoreExpiryRun [keys]}
 */
public final class StoreExpiryRun {

    public static void main(String[] args) throws InterruptedException {
        int keys = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        SegmentedLruStore store = new SegmentedLruStore(2L << 30, 64, EntrySizer.forCurrentJvm(), Clock.SYSTEM);
        ExpirySweeper sweeper = new ExpirySweeper(
                store, Duration.ofMillis(100), Duration.ofMillis(1), Duration.ofMillis(25), System::nanoTime);
        ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor();
        thread.schedule(
                new Runnable() {
                    @Override
                    public void run() {
                        thread.schedule(this, sweeper.sweep(), TimeUnit.MILLISECONDS);
                    }
                },
                0,
                TimeUnit.MILLISECONDS);

        long startUsed = store.stats().usedBytes();
        byte[] value = new byte[100];
        // All keys share one expiry instant, far enough ahead that loading finishes first.
        long expireAt = System.currentTimeMillis() + 5_000;
        long loadStart = System.nanoTime();
        for (int i = 0; i < keys; i++) {
            store.put(String.format("key:%012d", i).getBytes(StandardCharsets.US_ASCII), value, expireAt);
        }
        long loadMillis = (System.nanoTime() - loadStart) / 1_000_000;
        long filled = store.stats().usedBytes();
        long wait = expireAt - System.currentTimeMillis();
        if (wait <= 0) {
            throw new IllegalStateException("loading took " + loadMillis + " ms, past the expiry instant");
        }
        Thread.sleep(wait);
        while (store.stats().usedBytes() > startUsed) {
            Thread.sleep(1);
        }
        long reclaimedAfterMillis = System.currentTimeMillis() - expireAt;
        thread.shutdownNow();
        System.out.printf(
                "%d keys (%d accounted bytes) loaded in %d ms; all expired at T; memory back to %d bytes at T + %d ms%n",
                keys, filled, loadMillis, startUsed, reclaimedAfterMillis);
    }
}
