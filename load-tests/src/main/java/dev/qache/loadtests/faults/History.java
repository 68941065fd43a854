package dev.qache.loadtests.faults;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.jspecify.annotations.Nullable;

/**
 * Every operation a fault run's clients made, with when it was invoked and completed (nanoTime)
 * and how it ended, plus the faults injected: what {@link Checker} reads afterwards. Safe to
 * append from any thread.
 *
 * <p>Outcomes, as Jepsen's: {@link Outcome#OK} (acknowledged: 204, or a read's 200 or 404),
 * {@link Outcome#FAIL} (certainly not applied: a 4xx or a 503 the router gave before sending it
 * anywhere, or a refused connection), {@link Outcome#INFO} (unknown: a timeout, a 5xx that may
 * have come after the write was applied). The checker treats a write with INFO as possibly
 * applied.
 */
public final class History {

    public enum Type {
        WRITE,
        DELETE,
        READ
    }

    public enum Outcome {
        OK,
        FAIL,
        INFO
    }

    /**
     * One operation. {@code value} is the value written (WRITE) or read (READ, null for a miss);
     * every WRITE in a run writes a value no other write does. {@code ttlNanos}: a WRITE's TTL, 0
     * for none; the value expires that long after the write was applied (between its invocation and
     * its completion).
     */
    public record Op(
            int client,
            Type type,
            String key,
            @Nullable String value,
            long invokeNanos,
            long completeNanos,
            Outcome outcome,
            long ttlNanos) {

        /** An operation without a TTL. */
        public Op(
                int client,
                Type type,
                String key,
                @Nullable String value,
                long invokeNanos,
                long completeNanos,
                Outcome outcome) {
            this(client, type, key, value, invokeNanos, completeNanos, outcome, 0);
        }
    }

    /** A fault: what, on which process, from when until it was healed (nanoTime). */
    public record Fault(String kind, String target, long startNanos, long endNanos) {}

    private final ConcurrentLinkedQueue<Op> ops = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Fault> faults = new ConcurrentLinkedQueue<>();

    public void add(Op op) {
        ops.add(op);
    }

    public void fault(Fault fault) {
        faults.add(fault);
    }

    /** The operations by invocation time. */
    public List<Op> ops() {
        List<Op> sorted = new ArrayList<>(ops);
        sorted.sort(Comparator.comparingLong(Op::invokeNanos));
        return sorted;
    }

    /** The faults by start time. */
    public List<Fault> faults() {
        List<Fault> sorted = new ArrayList<>(faults);
        sorted.sort(Comparator.comparingLong(Fault::startNanos));
        return sorted;
    }
}
