package dev.qache.node.config;

import dev.qache.node.store.EntrySizer;
import dev.qache.node.store.ExpirySweeper;
import dev.qache.node.store.SegmentedLruStore;
import dev.qache.node.store.Store;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Builds the store from {@link NodeConfig}, checks the configuration against the JVM at start-up,
 * and runs the expiry sweeper on its own daemon thread (never on an event loop).
 */
@Singleton
public class StoreLifecycle {

    private static final Logger LOG = Logger.getLogger(StoreLifecycle.class);

    /** Share of the maximum heap the store's limit may take; the rest is for buffers and the JVM. */
    private static final double MAX_HEAP_SHARE = 0.8;

    private final NodeConfig config;
    private final SegmentedLruStore store;
    private ScheduledExecutorService sweeperThread;

    StoreLifecycle(NodeConfig config) {
        this.config = config;
        validate(config);
        this.store = new SegmentedLruStore(
                config.memoryLimit().asLongValue(),
                config.storeSegments(),
                EntrySizer.forCurrentJvm(),
                dev.qache.node.store.Clock.SYSTEM);
    }

    @Produces
    @Singleton
    Store store() {
        return store;
    }

    void start(@Observes StartupEvent started) {
        ExpirySweeper sweeper = new ExpirySweeper(
                store,
                config.sweeper().interval(),
                config.sweeper().busyPause(),
                config.sweeper().maxRun(),
                System::nanoTime);
        sweeperThread = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("qache-expiry-sweeper").factory());
        sweeperThread.schedule(
                new Runnable() {
                    @Override
                    public void run() {
                        long delayMillis = config.sweeper().interval().toMillis();
                        try {
                            delayMillis = sweeper.sweep();
                        } catch (RuntimeException e) {
                            LOG.error("expiry sweep failed; retrying after the idle interval", e);
                        }
                        if (!sweeperThread.isShutdown()) {
                            sweeperThread.schedule(this, delayMillis, TimeUnit.MILLISECONDS);
                        }
                    }
                },
                0,
                TimeUnit.MILLISECONDS);
        LOG.infof(
                "store ready: memory limit %d bytes, %d segments, entry overhead computed for %s",
                config.memoryLimit().asLongValue(), config.storeSegments(), EntrySizer.forCurrentJvm());
    }

    void stop(@Observes ShutdownEvent stopping) {
        if (sweeperThread != null) {
            sweeperThread.shutdownNow();
        }
    }

    /** Refuses to start on a configuration that would fail later, with a message that says why. */
    static void validate(NodeConfig config) {
        long limit = config.memoryLimit().asLongValue();
        if (limit <= 0) {
            throw new IllegalArgumentException("qache.node.memory-limit must be positive, got " + limit);
        }
        long maxHeap = Runtime.getRuntime().maxMemory();
        if (maxHeap != Long.MAX_VALUE && limit > maxHeap * MAX_HEAP_SHARE) {
            throw new IllegalArgumentException(String.format(
                    "qache.node.memory-limit (%d bytes) exceeds %.0f%% of the maximum heap (%d bytes):"
                            + " raise -Xmx or lower the limit",
                    limit, MAX_HEAP_SHARE * 100, maxHeap));
        }
        int maxKey = config.maxKeySize();
        if (maxKey < 1 || maxKey > NodeConfig.CONTRACT_MAX_KEY_BYTES) {
            throw new IllegalArgumentException("qache.node.max-key-size must be between 1 and 250, got " + maxKey);
        }
        long maxValue = config.maxValueSize().asLongValue();
        if (maxValue < 1 || maxValue > Integer.MAX_VALUE - 65_536) {
            throw new IllegalArgumentException("qache.node.max-value-size is out of range: " + maxValue);
        }
        int segments = config.storeSegments();
        if (segments < 1 || Integer.bitCount(segments) != 1) {
            throw new IllegalArgumentException("qache.node.store-segments must be a power of two, got " + segments);
        }
    }
}
