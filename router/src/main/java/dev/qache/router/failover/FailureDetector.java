package dev.qache.router.failover;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Decides from probes whether each node is {@code UP}, {@code SUSPECT} or {@code DOWN}: a pure,
 * tick-driven state machine with no clock or I/O of its own, so it is tested with tables of events.
 *
 * <p>At every tick the caller probes the nodes {@link #tick} returns; each probe is numbered, and
 * its answer is reported with {@link #succeeded} or {@link #failed}. A probe with no answer
 * {@code timeoutNanos} after it was sent counts as failed at the next tick (a frozen node never
 * answers). A node with one or more consecutive failures is SUSPECT, with {@code threshold} DOWN;
 * one success makes it UP again. A node has at most one probe outstanding, and the answer to an
 * older probe is ignored, so a late reply from before a freeze cannot hide it. Nodes start UP.
 *
 * <p>Not thread-safe: the router drives it from one event loop.
 */
public final class FailureDetector {

    public enum Health {
        UP,
        SUSPECT,
        DOWN
    }

    public record Transition(String node, Health from, Health to) {}

    /** A probe to send: to {@code node}, numbered {@code sequence}. */
    public record Probe(String node, long sequence) {}

    private static final class NodeState {
        Health health = Health.UP;
        int failures;
        long outstanding = -1;
        long sentAtNanos;
    }

    private final long timeoutNanos;
    private final int threshold;
    private final Map<String, NodeState> nodes = new LinkedHashMap<>();
    private long nextSequence;

    public FailureDetector(long timeoutNanos, int threshold) {
        if (timeoutNanos <= 0 || threshold < 1) {
            throw new IllegalArgumentException("timeout must be positive and threshold at least 1");
        }
        this.timeoutNanos = timeoutNanos;
        this.threshold = threshold;
    }

    /** Watches exactly these nodes from now on: new ones start UP, the others are forgotten. */
    public void watch(Collection<String> watched) {
        Set<String> keep = new HashSet<>(watched);
        nodes.keySet().retainAll(keep);
        for (String node : watched) {
            nodes.computeIfAbsent(node, n -> new NodeState());
        }
    }

    /**
     * Counts the probes that timed out as failures (into {@code transitions}) and returns the
     * probes to send now: one for each node without one outstanding.
     */
    public List<Probe> tick(long nowNanos, List<Transition> transitions) {
        List<Probe> probes = new ArrayList<>();
        for (Map.Entry<String, NodeState> entry : nodes.entrySet()) {
            NodeState state = entry.getValue();
            if (state.outstanding >= 0 && nowNanos - state.sentAtNanos >= timeoutNanos) {
                state.outstanding = -1;
                fail(entry.getKey(), state, transitions);
            }
            if (state.outstanding < 0) {
                state.outstanding = nextSequence++;
                state.sentAtNanos = nowNanos;
                probes.add(new Probe(entry.getKey(), state.outstanding));
            }
        }
        return probes;
    }

    /** The node answered probe {@code sequence}. */
    public void succeeded(String node, long sequence, List<Transition> transitions) {
        NodeState state = nodes.get(node);
        if (state == null || state.outstanding != sequence) {
            return;
        }
        state.outstanding = -1;
        state.failures = 0;
        if (state.health != Health.UP) {
            transitions.add(new Transition(node, state.health, Health.UP));
            state.health = Health.UP;
        }
    }

    /** Probe {@code sequence} failed at once (connection refused, an error status). */
    public void failed(String node, long sequence, List<Transition> transitions) {
        NodeState state = nodes.get(node);
        if (state == null || state.outstanding != sequence) {
            return;
        }
        state.outstanding = -1;
        fail(node, state, transitions);
    }

    private void fail(String node, NodeState state, List<Transition> transitions) {
        state.failures++;
        Health next = state.failures >= threshold ? Health.DOWN : Health.SUSPECT;
        if (next != state.health) {
            transitions.add(new Transition(node, state.health, next));
            state.health = next;
        }
    }

    /** A watched node's health; UP for a node not watched. */
    public Health health(String node) {
        NodeState state = nodes.get(node);
        return state == null ? Health.UP : state.health;
    }
}
