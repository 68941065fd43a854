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
 * <p>The copy rate is throttled by a token bucket: bytes copied are paid for at the current rate
 * (which the runner may change as client latency moves, see {@link CopyRate}), with at most one
 * second of rate saved up, and a new slot starts only while the bucket is not in debt; so a
 * migration cannot starve client traffic. Each copy is an <em>attempt</em> with a number that
 * grows across router restarts; an answer counts only for the attempt in flight, so a late answer
 * of an earlier attempt never completes a newer one.
 *
 * <p>When a source's primary changes (failover), its slots in flight are copied again from the new
 * primary. When a target's primary changes, every slot it received so far is copied again: the
 * promoted replica may lack the last copies (asynchronous replication), and a copy never
 * overwrites a key changed on the target, so copying twice is safe.
 *
 * <p>Cut-over waits for the target's replicas: each answer names the target's replication offset
 * after its last write of the copy ({@link Mark}); the map flips only when every replica of each
 * target that could be promoted (answering, synced, on the target's history) has reached it
 * ({@link #replicasBehind}), so losing a target primary right after the flip loses no key the
 * sources have dropped.
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

    /** One copy attempt of a move, as {@link #tick} starts it. */
    public record Copy(int slot, String from, String to, long attempt) {}

    /** A target's replication position after its last write of a copy: its history and offset. */
    public record Mark(String history, long offset) {}

    /** A replica of a target shard as the router last heard from it. */
    public record Replica(String address, boolean answering, boolean synced, String history, long offset) {}

    /** Progress as the admin API reports it. */
    public record Progress(
            State state,
            int slotsDone,
            int slotsTotal,
            long keysCopied,
            long bytesCopied,
            double bytesPerSecond,
            double etaSeconds,
            String reason,
            long rateLimit,
            int slotsResumed) {}

    /** The highest rate taken (1 GB/s), so the bucket's byte-nanoseconds fit in a long. */
    public static final long MAX_RATE = 1L << 30;

    /** The wait before a failed slot's first retry; each further retry waits twice as long. */
    public static final long RETRY_BACKOFF_NANOS = 250_000_000L;

    private final String id;
    private final Map<Integer, Move> moves = new LinkedHashMap<>();
    private final Deque<Integer> pending = new ArrayDeque<>();
    private final Map<Integer, Integer> attempts = new LinkedHashMap<>();
    /** Slots being copied, each with the number of its attempt in flight. */
    private final Map<Integer, Long> inFlight = new LinkedHashMap<>();
    /** Per target shard, the position its replicas must reach before the cut-over. */
    private final Map<String, Mark> marks = new LinkedHashMap<>();

    private final java.util.Set<Integer> done = new java.util.LinkedHashSet<>();
    /** A failed slot's next copy starts no earlier than this (nanos), so retries span a failover. */
    private final Map<Integer, Long> notBefore = new java.util.HashMap<>();

    private final int maxInFlight;
    private final int maxAttempts;

    /** Bytes per second the copy may use now. */
    private long bytesPerSecond;
    /** The token bucket in bytes times 10^9 (so nanoseconds of accrual add up exactly); negative: in debt. */
    private long budget;

    private long budgetAtNanos;
    private long nextAttempt;
    private String waiting = "";

    private State state = State.PLANNED;
    private long startedNanos;
    private long lastProgressNanos;
    private long keysCopied;
    private long bytesCopied;
    /** Slots and bytes copied under an earlier leader: in the totals, not in the rate. */
    private int slotsResumed;

    private long bytesResumed;
    private String reason = "";

    public Migration(String id, List<Move> plan, int maxInFlight, long bytesPerSecond, int maxAttempts) {
        this(id, plan, maxInFlight, bytesPerSecond, maxAttempts, 1);
    }

    /**
     * @param firstAttempt the number of the first copy attempt; a router passes one that grows
     *     across its restarts (a node refuses an attempt older than one it has begun)
     */
    public Migration(
            String id, List<Move> plan, int maxInFlight, long bytesPerSecond, int maxAttempts, long firstAttempt) {
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
        this.bytesPerSecond = Math.min(bytesPerSecond, MAX_RATE);
        this.maxAttempts = maxAttempts;
        this.nextAttempt = firstAttempt;
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
        state = done.size() == moves.size() ? State.CUTOVER : State.STREAMING;
        startedNanos = nowNanos;
        lastProgressNanos = nowNanos;
        budgetAtNanos = nowNanos;
    }

    /**
     * Before the start: {@code slot} was copied under an earlier leader (the group committed it,
     * and its target still holds it), so it is done without a copy, with the target's position
     * after it as a mark the cut-over waits for. Returns whether the slot is one of the plan's and
     * not done yet.
     */
    public boolean resumed(int slot, long keys, long bytes, Mark mark) {
        require(State.PLANNED, "resume a slot of");
        if (!moves.containsKey(slot) || !done.add(slot)) {
            return false;
        }
        pending.remove(slot);
        keysCopied += keys;
        bytesCopied += bytes;
        slotsResumed++;
        bytesResumed += bytes;
        mark(moves.get(slot).to(), mark);
        return true;
    }

    private void mark(String target, Mark mark) {
        Mark before = marks.get(target);
        if (before == null || !before.history().equals(mark.history()) || before.offset() < mark.offset()) {
            marks.put(target, mark);
        }
    }

    /** The rate the copy may use from now on (the runner adapts it, see {@link CopyRate}). */
    public void rate(long bytesPerSecond, long nowNanos) {
        if (bytesPerSecond < 1) {
            throw new IllegalArgumentException("the rate must be positive");
        }
        accrue(nowNanos);
        this.bytesPerSecond = Math.min(bytesPerSecond, MAX_RATE);
        budget = Math.min(budget, cap());
    }

    public long rate() {
        return bytesPerSecond;
    }

    /** One second of the current rate: the most the bucket saves up. */
    private long cap() {
        return bytesPerSecond * 1_000_000_000L;
    }

    private void accrue(long nowNanos) {
        long elapsed = nowNanos - budgetAtNanos;
        if (elapsed > 0) {
            long room = cap() - budget;
            // Past the time that fills the bucket it is full; before it the product stays below room.
            budget = elapsed > room / bytesPerSecond ? cap() : budget + bytesPerSecond * elapsed;
            budgetAtNanos = nowNanos;
        }
    }

    /** The copies to start now: within the in-flight limit and the rate. */
    public List<Copy> tick(long nowNanos) {
        List<Copy> start = new ArrayList<>();
        if (state != State.STREAMING) {
            return start;
        }
        accrue(nowNanos);
        List<Integer> waitingSlots = new ArrayList<>();
        while (inFlight.size() < maxInFlight && !pending.isEmpty() && budget >= 0) {
            int slot = pending.poll();
            Long after = notBefore.get(slot);
            if (after != null && nowNanos - after < 0) {
                waitingSlots.add(slot); // backing off after a failure: later slots go first
                continue;
            }
            notBefore.remove(slot);
            long attempt = nextAttempt++;
            inFlight.put(slot, attempt);
            attempts.merge(slot, 1, Integer::sum);
            Move move = moves.get(slot);
            start.add(new Copy(slot, move.from(), move.to(), attempt));
        }
        for (int i = waitingSlots.size() - 1; i >= 0; i--) {
            pending.addFirst(waitingSlots.get(i));
        }
        return start;
    }

    /** Whether {@code attempt} is the copy of {@code slot} in flight; if so it is taken off. */
    private boolean settle(int slot, long attempt) {
        Long current = inFlight.get(slot);
        if (current == null || current != attempt) {
            return false;
        }
        inFlight.remove(slot);
        return true;
    }

    /**
     * A slot's copy finished: {@code keys} entries, {@code bytes} bytes, and the target's position
     * after it. Ignored unless {@code attempt} is the slot's attempt in flight; returns whether it
     * counted.
     */
    public boolean copied(int slot, long attempt, long keys, long bytes, Mark mark, long nowNanos) {
        if (state != State.STREAMING || !settle(slot, attempt)) {
            return false; // a copy made void by a failover or a newer attempt, or one after an abort
        }
        done.add(slot);
        keysCopied += keys;
        bytesCopied += bytes;
        accrue(nowNanos);
        budget -= bytes * 1_000_000_000L;
        lastProgressNanos = nowNanos;
        mark(moves.get(slot).to(), mark);
        if (done.size() == moves.size()) {
            state = State.CUTOVER;
        }
        return true;
    }

    /**
     * A slot's copy failed; it is retried after a backoff that doubles from {@link
     * #RETRY_BACKOFF_NANOS} (so five attempts span about 4 s, longer than a failover takes), and
     * after {@code maxAttempts} the migration aborts. Ignored unless {@code attempt} is in flight.
     */
    public void failed(int slot, long attempt, String why, long nowNanos) {
        if (state != State.STREAMING || !settle(slot, attempt)) {
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
        for (int slot : inFlight.keySet()) {
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
        marks.remove(shard); // its new primary's history is another one: positions start again
        if (!again.isEmpty()) {
            state = State.STREAMING;
        }
    }

    /**
     * What keeps the cut-over back: for each target shard, every replica that could be promoted
     * (answering, synced, streaming the target's history) must have reached the target's position
     * after its last write of the copy. A replica that is down or still in its full sync is not
     * waited for: it cannot be promoted before it has caught up (see failover.Promotion). Empty
     * when the map may flip. {@code replicas}: each target shard's replicas.
     */
    public List<String> replicasBehind(Map<String, List<Replica>> replicas) {
        List<String> behind = new ArrayList<>();
        marks.forEach((shard, mark) -> {
            for (Replica replica : replicas.getOrDefault(shard, List.of())) {
                if (!replica.answering() || !replica.synced()) {
                    continue;
                }
                if (!replica.history().equals(mark.history())) {
                    behind.add(replica.address() + " of " + shard + " streams another history than " + mark.history());
                } else if (replica.offset() < mark.offset()) {
                    behind.add(replica.address() + " of " + shard + " is at offset " + replica.offset() + " of "
                            + mark.offset());
                }
            }
        });
        waiting = behind.isEmpty() ? "" : "waiting for replicas: " + String.join("; ", behind);
        return behind;
    }

    /** The positions each target's replicas must reach before the cut-over. */
    public Map<String, Mark> marks() {
        return Map.copyOf(marks);
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
        double rate = seconds > 0 ? (bytesCopied - bytesResumed) / seconds : 0;
        int left = moves.size() - done.size();
        int copiedHere = done.size() - slotsResumed;
        double perSlot = copiedHere == 0 ? 0 : seconds / copiedHere;
        double eta = state == State.STREAMING && copiedHere > 0 ? left * perSlot : 0;
        String why = state == State.CUTOVER && !waiting.isEmpty() ? waiting : reason;
        return new Progress(
                state,
                done.size(),
                moves.size(),
                keysCopied,
                bytesCopied,
                rate,
                eta,
                why,
                bytesPerSecond,
                slotsResumed);
    }

    private void require(State expected, String action) {
        if (state != expected) {
            throw new IllegalStateException("cannot " + action + " a migration that is " + state);
        }
    }
}
