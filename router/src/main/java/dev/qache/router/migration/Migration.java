package dev.qache.router.migration;

import dev.qache.router.ring.SlotAssignment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One rebalancing, as a pure state machine: a set of slot moves (each slot from one shard to
 * another) copied a few at a time, then cut over. It does no I/O and reads no clock: the router
 * feeds it ticks with the time and the outcome of each copy, and acts on what it returns, so every
 * path is tested with tables of events.
 *
 * <pre>
 * PLANNED --start--> STREAMING --last slot copied--> CUTOVER --committed--> DONE
 *                        |  \--copy failed too often / abort--> ABORTED
 *                        \--a shard's primary changed: its slots are copied again
 * </pre>
 *
 * <p>The copy rate is throttled: a new slot starts only while the bytes copied so far stay within
 * {@code bytesPerSecond} times the time streamed, so a migration cannot starve client traffic.
 * When a source's primary changes (failover), its slots in flight are copied again from the new
 * primary. When a target's primary changes, every slot it received so far is copied again: the
 * promoted replica may lack the last copies (asynchronous replication), and a copy never
 * overwrites a newer write, so copying twice is safe.
 */
public final class Migration {

    public enum State {
        PLANNED,
        STREAMING,
        CUTOVER,
        DONE,
        ABORTED
    }

    /** One slot moving from shard {@code from} to shard {@code to}. */
    public record Move(int slot, String from, String to) {}

    /** Progress as the admin API reports it. */
    public record Progress(
            State state,
            int slotsDone,
            int slotsTotal,
            long keysCopied,
            long bytesCopied,
            double bytesPerSecond,
            double etaSeconds,
            String reason) {}

    /** The wait before a failed slot's first retry; each further retry waits twice as long. */
    public static final long RETRY_BACKOFF_NANOS = 250_000_000L;

    private final String id;
    private final Map<Integer, Move> moves = new LinkedHashMap<>();
    private final Deque<Integer> pending = new ArrayDeque<>();
    private final Map<Integer, Integer> attempts = new LinkedHashMap<>();
    private final java.util.Set<Integer> inFlight = new java.util.LinkedHashSet<>();
    private final java.util.Set<Integer> done = new java.util.LinkedHashSet<>();
    /** A failed slot's next copy starts no earlier than this (nanos), so retries span a failover. */
    private final Map<Integer, Long> notBefore = new java.util.HashMap<>();

    private final int maxInFlight;
    private final long bytesPerSecond;
    private final int maxAttempts;

    private State state = State.PLANNED;
    private long startedNanos;
    private long lastProgressNanos;
    private long keysCopied;
    private long bytesCopied;
    private String reason = "";

    public Migration(String id, List<Move> plan, int maxInFlight, long bytesPerSecond, int maxAttempts) {
        if (plan.isEmpty()) {
            throw new IllegalArgumentException("a migration moves at least one slot");
        }
        if (maxInFlight < 1 || bytesPerSecond < 1 || maxAttempts < 1) {
            throw new IllegalArgumentException("in-flight, rate and attempts must be positive");
        }
        this.id = id;
        for (Move move : plan) {
            if (moves.put(move.slot(), move) != null) {
                throw new IllegalArgumentException("slot " + move.slot() + " is planned twice");
            }
            if (move.from().equals(move.to())) {
                throw new IllegalArgumentException("slot " + move.slot() + " moves to the shard it is on");
            }
            pending.add(move.slot());
        }
        this.maxInFlight = maxInFlight;
        this.bytesPerSecond = bytesPerSecond;
        this.maxAttempts = maxAttempts;
    }

    /** The moves that turn one slot assignment into another: every slot whose owner changes. */
    public static List<Move> plan(SlotAssignment before, SlotAssignment after) {
        List<Move> plan = new ArrayList<>();
        for (int slot : before.movedTo(after)) {
            plan.add(new Move(slot, before.ownerOf(slot), after.ownerOf(slot)));
        }
        return plan;
    }

    public String id() {
        return id;
    }

    public State state() {
        return state;
    }

    /** Streaming begins: the map that marks the slots as migrating has reached the nodes. */
    public void start(long nowNanos) {
        require(State.PLANNED, "start");
        state = State.STREAMING;
        startedNanos = nowNanos;
        lastProgressNanos = nowNanos;
    }

    /** The copies to start now: within the in-flight limit and the rate. */
    public List<Move> tick(long nowNanos) {
        List<Move> start = new ArrayList<>();
        if (state != State.STREAMING) {
            return start;
        }
        // Integer arithmetic, so a copy is let through exactly when the budget allows.
        long allowed = bytesPerSecond * ((nowNanos - startedNanos) / 1_000_000) / 1000;
        List<Integer> waiting = new ArrayList<>();
        while (inFlight.size() < maxInFlight && !pending.isEmpty() && bytesCopied <= allowed) {
            int slot = pending.poll();
            Long after = notBefore.get(slot);
            if (after != null && nowNanos - after < 0) {
                waiting.add(slot); // backing off after a failure: later slots go first
                continue;
            }
            notBefore.remove(slot);
            inFlight.add(slot);
            attempts.merge(slot, 1, Integer::sum);
            start.add(moves.get(slot));
        }
        for (int i = waiting.size() - 1; i >= 0; i--) {
            pending.addFirst(waiting.get(i));
        }
        return start;
    }

    /** A slot's copy finished: {@code keys} entries, {@code bytes} bytes. */
    public void copied(int slot, long keys, long bytes, long nowNanos) {
        if (state != State.STREAMING || !inFlight.remove(slot)) {
            return; // a copy made void by a failover, or one after an abort
        }
        done.add(slot);
        keysCopied += keys;
        bytesCopied += bytes;
        lastProgressNanos = nowNanos;
        if (done.size() == moves.size()) {
            state = State.CUTOVER;
        }
    }

    /**
     * A slot's copy failed; it is retried after a backoff that doubles from {@link
     * #RETRY_BACKOFF_NANOS} (so five attempts span about 4 s, longer than a failover takes), and
     * after {@code maxAttempts} the migration aborts.
     */
    public void failed(int slot, String why, long nowNanos) {
        if (state != State.STREAMING || !inFlight.remove(slot)) {
            return;
        }
        int tried = attempts.getOrDefault(slot, 0);
        if (tried >= maxAttempts) {
            abort("slot " + slot + " failed " + maxAttempts + " times: " + why);
            return;
        }
        notBefore.put(slot, nowNanos + (RETRY_BACKOFF_NANOS << Math.min(tried - 1, 4)));
        pending.addFirst(slot);
    }

    /** A shard's primary changed (failover): copies from or to it start over. */
    public void primaryChanged(String shard) {
        if (state != State.STREAMING && state != State.CUTOVER) {
            return;
        }
        List<Integer> again = new ArrayList<>();
        for (int slot : inFlight) {
            Move move = moves.get(slot);
            if (move.from().equals(shard) || move.to().equals(shard)) {
                again.add(slot);
            }
        }
        for (int slot : done) {
            if (moves.get(slot).to().equals(shard)) {
                again.add(slot);
            }
        }
        for (int slot : pending) {
            Move move = moves.get(slot);
            if ((move.from().equals(shard) || move.to().equals(shard)) && notBefore.remove(slot) != null) {
                attempts.remove(slot); // it failed against the old primary: the new one starts afresh
            }
        }
        for (int slot : again) {
            notBefore.remove(slot);
            inFlight.remove(slot);
            done.remove(slot);
            attempts.remove(slot);
            pending.addFirst(slot);
        }
        if (!again.isEmpty()) {
            state = State.STREAMING;
        }
    }

    /** The cut-over map (slots owned by their targets) is saved and pushed. */
    public void committed() {
        require(State.CUTOVER, "commit");
        state = State.DONE;
    }

    /** Gives up: the slots stay with their sources, the targets drop what they received. */
    public void abort(String why) {
        if (state == State.DONE || state == State.ABORTED) {
            return;
        }
        state = State.ABORTED;
        reason = why;
        pending.clear();
        inFlight.clear();
    }

    public Progress progress(long nowNanos) {
        double seconds = state == State.PLANNED ? 0 : (lastProgressNanos - startedNanos) / 1e9;
        double rate = seconds > 0 ? bytesCopied / seconds : 0;
        int left = moves.size() - done.size();
        double perSlot = done.isEmpty() ? 0 : seconds / done.size();
        double eta = state == State.STREAMING && !done.isEmpty() ? left * perSlot : 0;
        return new Progress(state, done.size(), moves.size(), keysCopied, bytesCopied, rate, eta, reason);
    }

    private void require(State expected, String action) {
        if (state != expected) {
            throw new IllegalStateException("cannot " + action + " a migration that is " + state);
        }
    }
}
