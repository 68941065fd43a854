package dev.qache.node.cluster;

/**
 * A primary's pause of every write while it hands its shard to a replica (a graceful promotion):
 * client writes, deletes and slot imports are refused, with nothing applied, until the map that
 * makes the replica primary arrives, or the router calls the hand-off off.
 *
 * <p>A pause also ends by itself once {@code deadlineNanos} has passed, but only while the router
 * still renews this node's lease: a router that flipped the map grants this node no lease any
 * more, so a primary it replaced never resumes on its own. Pure: time is passed in.
 */
public final class WritePause {

    private volatile boolean paused;
    private volatile long deadlineNanos;

    /** Writes in progress off the event loops (a slot import's chunk on a worker thread). */
    private final java.util.concurrent.atomic.AtomicInteger busy = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * A write off the event loops begins, unless writes are paused (then false, and nothing is to
     * be applied); one that began ends with {@link #exit}. The count goes up before the pause is
     * read, and a hand-off sets the pause before it reads the count ({@link #idle}), so either the
     * write sees the pause or the hand-off waits for the write.
     */
    public boolean tryEnter(long nowNanos, boolean leaseValid) {
        busy.incrementAndGet();
        if (paused(nowNanos, leaseValid)) {
            busy.decrementAndGet();
            return false;
        }
        return true;
    }

    public void exit() {
        busy.decrementAndGet();
    }

    /** Whether no write that began with {@link #tryEnter} is still being applied. */
    public boolean idle() {
        return busy.get() == 0;
    }

    /** Pauses writes until {@link #end}, a new map, or {@code deadlineNanos} (see the class comment). */
    public void begin(long deadlineNanos) {
        this.deadlineNanos = deadlineNanos;
        this.paused = true;
    }

    public void end() {
        paused = false;
    }

    /**
     * Whether a pause is in force, as a status answer reports it: one past its deadline still
     * counts until the next write finds the lease valid and ends it (see {@link #paused}).
     */
    public boolean inForce() {
        return paused;
    }

    /** Whether writes are paused at {@code nowNanos}; {@code leaseValid}: the router still renews the lease. */
    public boolean paused(long nowNanos, boolean leaseValid) {
        if (!paused) {
            return false;
        }
        if (leaseValid && nowNanos - deadlineNanos > 0) {
            paused = false;
            return false;
        }
        return true;
    }
}
