package dev.qache.loadtests.faults;

import dev.qache.loadtests.faults.History.Fault;
import dev.qache.loadtests.faults.History.Op;
import dev.qache.loadtests.faults.History.Outcome;
import dev.qache.loadtests.faults.History.Type;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Reads a whole {@link History} and says what went wrong, by the cache's own contract: an
 * acknowledged write or delete may be lost only inside the asynchronous replication window before
 * a fault; no read returns a value nobody wrote; no value comes back after an acknowledged
 * overwrite or delete except through such a loss.
 *
 * <p>The history's shape: each key has one writing client, so the writes and deletes of a key are
 * sequential (index 0, 1, 2, ... in invocation order); any client reads any key. Every write
 * writes a value no other write does, so a read names the write it saw.
 */
/*
 * How a read is judged. Let o be the index of the mutation the read saw: the write of its value,
 * or, for a miss, the newest delete that may have taken effect (-1 when none: never written). The
 * read must see at least
 *   - every mutation acknowledged more than `stalenessNanos` before it was invoked (a replica may
 *     answer a read a little behind its primary, by design), and
 *   - every mutation an earlier read saw, when that read completed more than `stalenessNanos`
 *     before this one was invoked (no value goes back).
 * If it saw less, the acknowledged mutations between o and what it had to see were undone: each
 * is counted once, as a lost write or an undone delete/overwrite, and is "inside the window" when
 * a fault began between 50 ms before its acknowledgement (the answer may have been on the wire)
 * and `windowNanos` after it; its age is the fault's start minus its acknowledgement. A read that
 * names a value no write of that key wrote, or a write invoked after the read completed, is
 * invented.
 *
 * A write with a TTL expires between its invocation and its completion plus the TTL: a miss may
 * see it as gone (as a delete) once its invocation plus the TTL has passed; its value read after
 * its completion plus the TTL (and a little slack) is an expired value served. An older value
 * coming back once a newer write expired is the undoing of that write, as above.
 */
public final class Checker {

    /** Slack for reading a value just as it expires (clock granularity, the answer on the wire). */
    private static final long EXPIRY_SLACK_NANOS = 50_000_000L;

    /** Slack for an acknowledgement that was on the wire when the fault began. */
    private static final long ON_THE_WIRE_NANOS = 50_000_000L;

    private final long stalenessNanos;
    private final long windowNanos;
    private final Function<String, String> shardOf;

    /**
     * @param stalenessNanos how far behind its primary a replica's read may be
     * @param windowNanos the replication window: how long before a fault an acknowledged
     *     mutation may still be lost
     * @param shardOf the shard of each key, for the unavailability figures
     */
    public Checker(long stalenessNanos, long windowNanos, Function<String, String> shardOf) {
        this.stalenessNanos = stalenessNanos;
        this.windowNanos = windowNanos;
        this.shardOf = shardOf;
    }

    /**
     * An acknowledged mutation that a later read proved undone; {@code ageNanos} is the fault's start
     * minus the acknowledgement (negative: the answer was on the wire when the fault began), -1
     * outside the window; {@code read} is the first read that saw less than it.
     */
    public record Undone(Op op, Op read, boolean insideWindow, long ageNanos) {}

    /**
     * What the history shows. {@code lostWrites} and {@code undoneDeletes} are acknowledged writes
     * and deletes undone (a deleted or overwritten value coming back is the undoing of the delete
     * or the overwrite); {@code invented} reads returned what nobody wrote.
     */
    public record Result(
            int operations,
            int acknowledgedMutations,
            int refusedMutations,
            int unknownMutations,
            List<Undone> lostWrites,
            List<Undone> undoneDeletes,
            List<Op> invented,
            List<Op> expiredServed,
            Map<String, Long> longestWriteOutageNanos,
            Map<String, Long> longestReadOutageNanos) {

        public long outsideWindow() {
            return lostWrites.stream().filter(u -> !u.insideWindow()).count()
                    + undoneDeletes.stream().filter(u -> !u.insideWindow()).count();
        }

        /** Ages (fault start minus acknowledgement) of the mutations lost inside the window, sorted. */
        public List<Long> agesNanos() {
            List<Long> ages = new ArrayList<>();
            lostWrites.stream().filter(Undone::insideWindow).forEach(u -> ages.add(u.ageNanos()));
            undoneDeletes.stream().filter(Undone::insideWindow).forEach(u -> ages.add(u.ageNanos()));
            ages.sort(Long::compare);
            return ages;
        }
    }

    public Result check(History history) {
        List<Op> ops = history.ops();
        List<Fault> faults = history.faults();
        Map<String, List<Op>> mutations = new HashMap<>();
        Map<String, List<Op>> reads = new HashMap<>();
        int acknowledged = 0;
        int refused = 0;
        int unknown = 0;
        for (Op op : ops) {
            if (op.type() == Type.READ) {
                reads.computeIfAbsent(op.key(), k -> new ArrayList<>()).add(op);
            } else {
                mutations.computeIfAbsent(op.key(), k -> new ArrayList<>()).add(op);
                acknowledged += op.outcome() == Outcome.OK ? 1 : 0;
                refused += op.outcome() == Outcome.FAIL ? 1 : 0;
                unknown += op.outcome() == Outcome.INFO ? 1 : 0;
            }
        }
        List<Undone> lost = new ArrayList<>();
        List<Undone> undoneDeletes = new ArrayList<>();
        List<Op> invented = new ArrayList<>();
        List<Op> expiredServed = new ArrayList<>();
        for (Map.Entry<String, List<Op>> entry : reads.entrySet()) {
            List<Op> keyMutations = mutations.getOrDefault(entry.getKey(), List.of());
            checkKey(keyMutations, entry.getValue(), faults, lost, undoneDeletes, invented, expiredServed);
        }
        return new Result(
                ops.size(),
                acknowledged,
                refused,
                unknown,
                lost,
                undoneDeletes,
                invented,
                expiredServed,
                longestOutage(ops, true),
                longestOutage(ops, false));
    }

    private void checkKey(
            List<Op> mutations,
            List<Op> reads,
            List<Fault> faults,
            List<Undone> lost,
            List<Undone> undoneDeletes,
            List<Op> invented,
            List<Op> expiredServed) {
        Map<String, Integer> writeIndex = new HashMap<>();
        for (int i = 0; i < mutations.size(); i++) {
            if (mutations.get(i).type() == Type.WRITE) {
                writeIndex.put(mutations.get(i).value(), i);
            }
        }
        boolean[] counted = new boolean[mutations.size()];
        // Reads already judged, by completion time: the most any of them saw (for "no going back").
        TreeMap<Long, Integer> seenBy = new TreeMap<>();
        List<Op> byInvoke = new ArrayList<>(reads);
        byInvoke.sort(java.util.Comparator.comparingLong(Op::invokeNanos));
        for (Op read : byInvoke) {
            if (read.outcome() != Outcome.OK) {
                continue;
            }
            int mustSee = -1;
            for (int i = 0; i < mutations.size(); i++) {
                Op m = mutations.get(i);
                if (m.outcome() == Outcome.OK && m.completeNanos() < read.invokeNanos() - stalenessNanos) {
                    mustSee = i;
                }
            }
            Map<Long, Integer> earlier = seenBy.headMap(read.invokeNanos() - stalenessNanos, false);
            if (!earlier.isEmpty()) {
                mustSee = Math.max(mustSee, java.util.Collections.max(earlier.values()));
            }
            int saw;
            if (read.value() == null) {
                // A miss fits the newest delete that may have taken effect (or no write yet).
                saw = -1;
                for (int i = 0; i < mutations.size(); i++) {
                    Op m = mutations.get(i);
                    boolean mayHaveExpired = m.type() == Type.WRITE
                            && m.ttlNanos() > 0
                            && m.invokeNanos() + m.ttlNanos() < read.completeNanos();
                    if ((m.type() == Type.DELETE || mayHaveExpired)
                            && m.outcome() != Outcome.FAIL
                            && m.invokeNanos() < read.completeNanos()) {
                        saw = i;
                    }
                }
            } else {
                Integer index = writeIndex.get(read.value());
                if (index == null || mutations.get(index).invokeNanos() > read.completeNanos()) {
                    invented.add(read);
                    continue;
                }
                saw = index;
                Op written = mutations.get(index);
                if (written.outcome() == Outcome.OK
                        && written.ttlNanos() > 0
                        && read.invokeNanos() > written.completeNanos() + written.ttlNanos() + EXPIRY_SLACK_NANOS) {
                    expiredServed.add(read);
                }
            }
            seenBy.merge(read.completeNanos(), saw, Math::max);
            for (int i = saw + 1; i <= mustSee; i++) {
                Op m = mutations.get(i);
                if (m.outcome() != Outcome.OK || counted[i]) {
                    continue;
                }
                counted[i] = true;
                Undone undone = classify(m, read, faults);
                if (m.type() == Type.WRITE) {
                    lost.add(undone);
                } else {
                    undoneDeletes.add(undone);
                }
            }
        }
    }

    private Undone classify(Op m, Op read, List<Fault> faults) {
        for (Fault fault : faults) {
            long age = fault.startNanos() - m.completeNanos();
            if (age >= -ON_THE_WIRE_NANOS && age <= windowNanos) {
                return new Undone(m, read, true, age);
            }
        }
        return new Undone(m, read, false, -1);
    }

    /**
     * Per shard, the longest stretch in which no write (or read) succeeded while some was tried:
     * from the invocation of the first that failed after a success to the completion of the next
     * success.
     */
    private Map<String, Long> longestOutage(List<Op> ops, boolean writes) {
        Map<String, List<Op>> byShard = new LinkedHashMap<>();
        for (Op op : ops) {
            if ((op.type() == Type.READ) != writes) {
                byShard.computeIfAbsent(shardOf.apply(op.key()), s -> new ArrayList<>())
                        .add(op);
            }
        }
        Map<String, Long> longest = new TreeMap<>();
        for (Map.Entry<String, List<Op>> entry : byShard.entrySet()) {
            long max = 0;
            long failingSince = -1;
            List<Op> shardOps = entry.getValue();
            shardOps.sort(java.util.Comparator.comparingLong(Op::completeNanos));
            for (Op op : shardOps) {
                if (op.outcome() == Outcome.OK) {
                    if (failingSince >= 0) {
                        max = Math.max(max, op.completeNanos() - failingSince);
                        failingSince = -1;
                    }
                } else if (failingSince < 0) {
                    failingSince = op.invokeNanos();
                }
            }
            longest.put(entry.getKey(), max);
        }
        return longest;
    }
}
