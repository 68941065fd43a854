package dev.qache.node.migration;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.qache.node.cluster.SlotOwnership;
import dev.qache.node.store.Clock;
import dev.qache.node.store.EntrySizer;
import dev.qache.node.store.KeyHash;
import dev.qache.node.store.SegmentedLruStore;
import dev.qache.node.store.Store;
import dev.qache.protocol.MapDocument;
import dev.qache.protocol.MapDocument.ShardEntry;
import dev.qache.protocol.MapDocument.SlotRange;
import dev.qache.protocol.Slots;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The target's rules for the keys of an importing slot (DESIGN.md, Wave 2, "Migration"),
 * table-driven. Events, separated by {@code ;}, on keys {@code a}, {@code b}, {@code c} of the
 * importing slot, or {@code x}, a key of a slot that does not import: {@code put:k}, {@code del:k}
 * (a client delete, whether or not the key is here), {@code evict:k} (the store removes it by
 * itself), {@code copy:k} (the copy's put, as SlotTransfer makes it), {@code complete} (the import
 * finished). Expected: for a, b and c, whether a miss is final (F) or the source may have the key
 * (S; also shown for a key this node holds), then which of them the store holds.
 */
class ImportTrackerTest {

    private static final String SELF = "127.0.0.1:1";
    private static final List<byte[]> KEYS = keysOfOneSlot(3);
    private static final int SLOT = Slots.of(KEYS.get(0));

    private final SegmentedLruStore store = new SegmentedLruStore(1L << 26, 4, EntrySizer.DEFAULT_LAYOUT, Clock.SYSTEM);
    private final SlotOwnership ownership = new SlotOwnership();

    /** {@code count} keys of one slot, found by trying names. */
    private static List<byte[]> keysOfOneSlot(int count) {
        int slot = Slots.of("probe".getBytes(UTF_8));
        List<byte[]> keys = new ArrayList<>();
        for (int i = 0; keys.size() < count; i++) {
            byte[] key = ("key" + i).getBytes(UTF_8);
            if (Slots.of(key) == slot) {
                keys.add(key);
            }
        }
        return keys;
    }

    /** Every slot owned by shard s but {@code SLOT}, which {@code shard} holds. */
    private static List<SlotRange> allButTheSlot(String shard) {
        List<SlotRange> ranges = new ArrayList<>();
        if (SLOT > 0) {
            ranges.add(new SlotRange(0, SLOT - 1, "s"));
        }
        ranges.add(new SlotRange(SLOT, SLOT, shard));
        if (SLOT < Slots.COUNT - 1) {
            ranges.add(new SlotRange(SLOT + 1, Slots.COUNT - 1, "s"));
        }
        return ranges;
    }

    /** A map in which this node's shard t imports {@code SLOT} from shard s, this node as {@code role}. */
    private void importing(String role) {
        ShardEntry t = role.equals("primary")
                ? new ShardEntry("t", SELF, List.of())
                : new ShardEntry("t", "127.0.0.1:3", List.of(SELF));
        ownership.accept(
                new MapDocument(
                        2,
                        List.of(new ShardEntry("s", "127.0.0.1:2", List.of()), t),
                        allButTheSlot("s"),
                        List.of(new SlotRange(SLOT, SLOT, "t"))),
                SELF,
                slot -> 0);
    }

    private ImportTracker tracker(long limitBytes, SimpleMeterRegistry registry) {
        return new ImportTracker(store, ownership, limitBytes, registry);
    }

    private static byte[] key(String name) {
        return name.equals("x") ? "x-other-slot".getBytes(UTF_8) : KEYS.get(name.charAt(0) - 'a');
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            nothing happened: the source may have every key | - | SSS | -
            a key written here is served from here | put:a | SSS | a
            a key deleted by a client is final, present or not | put:a;del:a;del:b | FFS | -
            an evicted or expired key is final | put:a;evict:a | FSS | -
            the copy stores an untouched key | copy:a | SSS | a
            the copy never brings a deleted key back | del:a;copy:a;copy:b | FSS | b
            the copy never brings an evicted key back | put:a;evict:a;copy:a | FSS | -
            the copy never overwrites a written key | put:a;copy:a | SSS | a
            a finished import makes every miss final | copy:a;complete | SFF | a
            changes outside importing slots are not remembered | del:x;put:x;evict:x | SSS | -
            """)
    void rules(String name, String events, String misses, String held) {
        importing("primary");
        ImportTracker tracker = tracker(1L << 20, new SimpleMeterRegistry());
        long attempt = 7;
        assertThat(tracker.begin(SLOT, attempt)).isEqualTo(ImportTracker.Start.STARTED);
        for (String event : events.trim().split(";")) {
            if (event.equals("-")) {
                continue;
            }
            String[] parts = event.split(":");
            switch (parts[0]) {
                case "put" -> store.put(key(parts[1]), "new".getBytes(UTF_8), Store.NO_EXPIRY);
                case "del" -> store.delete(key(parts[1]));
                case "evict" -> store.dropSlot(Slots.of(key(parts[1])));
                case "copy" -> copy(tracker, key(parts[1]));
                case "complete" -> assertThat(tracker.complete(SLOT, attempt)).isTrue();
                default -> throw new IllegalArgumentException(event);
            }
        }
        StringBuilder finals = new StringBuilder();
        StringBuilder holds = new StringBuilder();
        for (String k : List.of("a", "b", "c")) {
            boolean hit = store.get(key(k)) != null;
            finals.append(!hit && tracker.finalMiss(key(k)) ? 'F' : 'S');
            if (hit) {
                holds.append(k);
            }
        }
        assertThat(finals.toString()).isEqualTo(misses.trim());
        assertThat(holds.isEmpty() ? "-" : holds.toString()).isEqualTo(held.trim());
    }

    /** What SlotTransfer does with one copied entry. */
    private void copy(ImportTracker tracker, byte[] key) {
        long hash = KeyHash.of(key);
        if (tracker.changed(SLOT, hash)) {
            return;
        }
        byte[] value = "old".getBytes(UTF_8);
        byte[] stored = store.putIfAbsent(key, value, 0, value.length, Store.NO_EXPIRY);
        if (stored != null && tracker.changed(SLOT, hash)) {
            store.deleteIfSame(key, stored);
        }
    }

    @ParameterizedTest(name = "begun {0}, then {1}: {2}")
    @CsvSource({"5, 6, STARTED", "6, 5, SUPERSEDED", "5, 5, STARTED"})
    void attempts_aNewerOneSupersedesAnOlderOne(long first, long second, ImportTracker.Start expected) {
        importing("primary");
        ImportTracker tracker = tracker(1L << 20, new SimpleMeterRegistry());
        tracker.begin(SLOT, first);
        assertThat(tracker.begin(SLOT, second)).isEqualTo(expected);
        long newest = Math.max(first, second);
        assertThat(tracker.current(SLOT, newest)).isTrue();
        assertThat(tracker.complete(SLOT, Math.min(first, second) - 1))
                .as("an older attempt completes nothing")
                .isFalse();
        assertThat(tracker.complete(SLOT, newest)).isTrue();
        assertThat(tracker.begin(SLOT, newest + 1)).isEqualTo(ImportTracker.Start.COMPLETE);
    }

    @Test
    void pastTheMemoryBound_aSlotCountsEveryKeyAsChanged() {
        importing("primary");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ImportTracker tracker = tracker(4_096, registry);
        for (byte[] key : keysOfOneSlot(300)) {
            store.delete(key); // none is here: deletes of keys not copied yet
        }
        assertThat(tracker.bytes()).isLessThanOrEqualTo(4_096);
        assertThat(registry.get("qache.migration.touched.overflows").counter().count())
                .isEqualTo(1.0);
        assertThat(tracker.changed(SLOT, KeyHash.of(KEYS.get(2))))
                .as("an overflowed slot takes no copy")
                .isTrue();
        assertThat(tracker.finalMiss(KEYS.get(2))).isTrue();
    }

    @Test
    void aReplicaRemembersTheRemovalsItsStreamBrings_andHidesNothingElse() {
        importing("replica");
        ImportTracker tracker = tracker(1L << 20, new SimpleMeterRegistry());
        store.put(KEYS.get(0), "new".getBytes(UTF_8), Store.NO_EXPIRY);
        store.delete(KEYS.get(0)); // as the primary's delete arrives
        assertThat(tracker.finalMiss(KEYS.get(0))).isTrue();
        assertThat(tracker.finalMiss(KEYS.get(1))).isFalse();
    }

    @Test
    void anExpiredEntryKeptOnAReplica_isAFinalMiss() {
        importing("replica");
        ImportTracker tracker = tracker(1L << 20, new SimpleMeterRegistry());
        store.expireLocally(false);
        store.put(KEYS.get(0), "new".getBytes(UTF_8), System.currentTimeMillis() - 1);
        assertThat(store.get(KEYS.get(0))).isNull();
        assertThat(tracker.finalMiss(KEYS.get(0))).isTrue();
    }

    /**
     * What a primary sends a replica at the start of a full sync: the replica's tracker then
     * answers as the primary's does, overflowed slots included.
     */
    @Test
    void marksHandedToAReplica_giveTheSameAnswers() {
        importing("primary");
        ImportTracker primary = tracker(1L << 20, new SimpleMeterRegistry());
        store.delete(KEYS.get(0));
        store.put(KEYS.get(1), "new".getBytes(UTF_8), Store.NO_EXPIRY);
        store.delete(KEYS.get(1));

        SegmentedLruStore replicaStore = new SegmentedLruStore(1L << 26, 4, EntrySizer.DEFAULT_LAYOUT, Clock.SYSTEM);
        SlotOwnership replicaOwnership = new SlotOwnership();
        replicaOwnership.accept(
                new MapDocument(
                        2,
                        List.of(
                                new ShardEntry("s", "127.0.0.1:2", List.of()),
                                new ShardEntry("t", "127.0.0.1:3", List.of(SELF))),
                        allButTheSlot("s"),
                        List.of(new SlotRange(SLOT, SLOT, "t"))),
                SELF,
                slot -> 0);
        ImportTracker replica = new ImportTracker(replicaStore, replicaOwnership, 1L << 20, new SimpleMeterRegistry());
        List<String> visited = new ArrayList<>();
        primary.forEach((slot, overflowed, hashes) -> {
            visited.add(slot + ":" + overflowed + ":" + hashes.length);
            replica.restore(slot, overflowed, hashes);
        });
        assertThat(visited).containsExactly(SLOT + ":false:2");
        for (byte[] key : KEYS) {
            assertThat(replica.finalMiss(key)).isEqualTo(primary.finalMiss(key));
        }
        assertThat(replica.finalMiss(KEYS.get(0))).isTrue();
        assertThat(replica.finalMiss(KEYS.get(2))).isFalse();

        replica.restore(SLOT, true, new long[0]);
        assertThat(replica.finalMiss(KEYS.get(2)))
                .as("an overflowed slot travels as one")
                .isTrue();
    }

    @Test
    void aSlotThatNoLongerImports_isForgotten() {
        importing("primary");
        ImportTracker tracker = tracker(1L << 20, new SimpleMeterRegistry());
        store.delete(KEYS.get(0));
        assertThat(tracker.bytes()).isPositive();
        ownership.accept(
                new MapDocument(
                        3,
                        List.of(new ShardEntry("s", "127.0.0.1:2", List.of()), new ShardEntry("t", SELF, List.of())),
                        allButTheSlot("t")),
                SELF,
                slot -> 0);
        tracker.mapInstalled();
        assertThat(tracker.bytes()).isZero();
        assertThat(tracker.changed(SLOT, KeyHash.of(KEYS.get(0)))).isFalse();
    }

    /**
     * Whether a miss tells the router to ask the migration's source ({@code Qache-Import: pending}),
     * by this node's map ({@code none}: before its first; {@code importing}: the slot imports here;
     * {@code owner}: the slot is this shard's, no migration) and the epoch the request was routed
     * by (-1: a client's own request, without one).
     */
    @ParameterizedTest(name = "map {0}, request epoch {1}: source asked {2}")
    @CsvSource({
        // A new shard answers reads before its first map lands: the router already routes the
        // slot's reads to it, and only the source has the keys.
        "none, 2, true",
        "none, 7, true",
        // Without a router (a lone node) a miss is a miss.
        "none, -1, false",
        "importing, 2, true",
        "importing, -1, true",
        "owner, 2, false",
        "owner, 9, false",
    })
    void aMissSendsTheRouterToTheSource_whileThisNodeCannotVouchForIt(
            String map, long requestEpoch, boolean sourceAsked) {
        switch (map) {
            case "importing" -> importing("primary");
            case "owner" ->
                ownership.accept(
                        new MapDocument(
                                3,
                                List.of(
                                        new ShardEntry("s", "127.0.0.1:2", List.of()),
                                        new ShardEntry("t", SELF, List.of())),
                                allButTheSlot("t")),
                        SELF,
                        slot -> 0);
            default -> {}
        }
        ImportTracker tracker = tracker(1L << 20, new SimpleMeterRegistry());
        assertThat(tracker.mayBeOnSource(KEYS.get(0), requestEpoch)).isEqualTo(sourceAsked);
    }
}
