package dev.qache.node.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.qache.protocol.Slots;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What migration relies on: the per-slot index, dropping a slot, and the copy's conditional writes. */
class StoreSlotsTest {

    private final FakeClock clock = new FakeClock();
    private final List<SegmentedLruStore> created = new ArrayList<>();

    @AfterEach
    void checkInvariants() {
        created.forEach(StoreInvariants::check);
    }

    private SegmentedLruStore store(int segments) {
        SegmentedLruStore store = new SegmentedLruStore(1L << 30, segments, EntrySizer.DEFAULT_LAYOUT, clock);
        created.add(store);
        return store;
    }

    private static byte[] b(String s) {
        return s.getBytes(UTF_8);
    }

    private static String key(byte[] entry) {
        return new String(entry, 1, entry[0] & 0xFF, UTF_8);
    }

    /** {@code count} keys that all fall in one slot (found by trying names). */
    private static List<byte[]> keysOfOneSlot(int count) {
        int slot = Slots.of(b("k0"));
        List<byte[]> keys = new ArrayList<>();
        for (int i = 0; keys.size() < count; i++) {
            byte[] key = b("k" + i);
            if (Slots.of(key) == slot) {
                keys.add(key);
            }
        }
        return keys;
    }

    /**
     * A chunked scan of one slot, with changes between the chunks: every key present from the first
     * chunk to the last is visited exactly once, and a chunk stops at the first entry that reaches
     * the budget.
     */
    @ParameterizedTest(name = "{0} segments, {1} keys, chunks of {2} bytes")
    @CsvSource({"64, 300, 1", "64, 300, 2000", "1, 300, 2000", "64, 300, 1048576", "8, 200, 700"})
    void chunkedScanSlot_visitsEveryKeyPresentThroughoutOnce(int segments, int count, long chunk) {
        SegmentedLruStore store = store(segments);
        List<byte[]> keys = keysOfOneSlot(count);
        int slot = Slots.of(keys.get(0));
        for (byte[] key : keys) {
            store.put(key, b("value-" + "-".repeat(100)), Store.NO_EXPIRY);
        }
        Set<String> deleted = new HashSet<>();
        List<String> visited = new ArrayList<>();
        long cursor = 0;
        int chunks = 0;
        while (true) {
            // bytes before the chunk's last entry, and with it
            long[] bytes = {0, 0};
            int before = visited.size();
            java.util.OptionalLong next = store.scanSlot(slot, cursor, chunk, (entry, expireAt) -> {
                visited.add(key(entry));
                bytes[0] = bytes[1];
                bytes[1] += entry.length;
            });
            assertThat(visited.size() - before)
                    .as("a chunk holds at least one entry")
                    .isPositive();
            assertThat(bytes[0])
                    .as("a chunk stops at the entry that reaches the budget")
                    .isLessThan(chunk);
            if (next.isPresent()) {
                assertThat(bytes[1]).isGreaterThanOrEqualTo(chunk);
            }
            chunks++;
            // Between chunks: delete a key, overwrite another, add one to another slot.
            byte[] gone = keys.get((chunks * 7) % keys.size());
            if (store.delete(gone)) {
                deleted.add(key(withLength(gone)));
            }
            store.put(keys.get((chunks * 11) % keys.size()), b("again"), Store.NO_EXPIRY);
            store.put(b("other-" + chunks), b("x"), Store.NO_EXPIRY);
            if (next.isEmpty()) {
                break;
            }
            cursor = next.getAsLong();
        }
        Set<String> unique = new HashSet<>(visited);
        assertThat(unique).as("no key visited twice").hasSize(visited.size());
        for (byte[] key : keys) {
            String name = key(withLength(key));
            if (!deleted.contains(name)) {
                assertThat(unique).as("key present throughout").contains(name);
            }
        }
        if (chunk == 1) {
            assertThat(chunks).as("one entry per chunk").isGreaterThanOrEqualTo(count - deleted.size());
        }
    }

    private static byte[] withLength(byte[] key) {
        byte[] entry = new byte[key.length + 1];
        entry[0] = (byte) key.length;
        System.arraycopy(key, 0, entry, 1, key.length);
        return entry;
    }

    @Test
    void holds_seesExpiredEntriesKeptOnAReplica_andNothingElse() {
        SegmentedLruStore store = store(4);
        store.expireLocally(false);
        store.put(b("soon"), b("v"), clock.currentTimeMillis() + 10);
        clock.advanceMillis(20);
        assertThat(store.get(b("soon"))).isNull();
        assertThat(store.holds(b("soon"))).isTrue();
        assertThat(store.holds(b("never"))).isFalse();
    }

    @Test
    void everyRemoval_isToldToTheWatcher_whateverItsCause() {
        SegmentedLruStore store = new SegmentedLruStore(4_000, 1, EntrySizer.DEFAULT_LAYOUT, clock);
        created.add(store);
        List<String> removed = new ArrayList<>();
        store.watchRemovals(entry -> removed.add(key(entry)));
        store.put(b("deleted"), b("v"), Store.NO_EXPIRY);
        store.delete(b("deleted"));
        store.put(b("expired"), b("v"), clock.currentTimeMillis() + 10);
        clock.advanceMillis(20);
        assertThat(store.get(b("expired"))).isNull();
        store.put(b("swept"), b("v"), clock.currentTimeMillis() + 10);
        clock.advanceMillis(20);
        store.removeExpired(10);
        for (int i = 0; i < 100; i++) {
            store.put(b("filler-" + i), b("x".repeat(100)), Store.NO_EXPIRY);
        }
        assertThat(removed).startsWith("deleted", "expired", "swept");
        assertThat(removed).as("evictions").contains("filler-0");
        removed.clear();
        store.put(b("dropped"), b("v"), Store.NO_EXPIRY);
        store.dropSlot(Slots.of(b("dropped")));
        assertThat(removed).contains("dropped");
    }

    @Test
    void theStoresSlotIsTheClustersSlot() {
        for (int i = 0; i < 10_000; i++) {
            byte[] key = b("key-" + i);
            assertThat(Segment.slotOf(KeyHash.of(key))).isEqualTo(Slots.of(key));
        }
    }

    /** Small tables (slots share buckets) and large ones (a slot spans buckets). */
    @ParameterizedTest(name = "{0} segments, {1} keys")
    @CsvSource({"64, 5000", "1, 40000"})
    void scanSlot_visitsExactlyTheSlotsKeys_andDropSlotRemovesExactlyThem(int segments, int keys) {
        SegmentedLruStore store = store(segments);
        List<Set<String>> bySlot = new ArrayList<>();
        for (int s = 0; s < Slots.COUNT; s++) {
            bySlot.add(new HashSet<>());
        }
        for (int i = 0; i < keys; i++) {
            String key = "k" + i;
            store.put(b(key), b("v"), Store.NO_EXPIRY);
            bySlot.get(Slots.of(b(key))).add(key);
        }
        int checked = 0;
        for (int slot = 0; slot < Slots.COUNT; slot += 97) {
            Set<String> seen = new HashSet<>();
            int count = store.scanSlot(
                    slot, (entry, expireAt) -> assertThat(seen.add(key(entry))).isTrue());
            assertThat(seen).as("slot %d", slot).isEqualTo(bySlot.get(slot));
            assertThat(count).isEqualTo(seen.size());
            checked += count;
        }
        assertThat(checked).isPositive();

        int slot = Slots.of(b("k1"));
        List<String> removed = new ArrayList<>();
        store.listen(new ChangeListener() {
            @Override
            public void stored(byte[] entry, long expireAtMillis) {}

            @Override
            public void removed(byte[] entry) {
                removed.add(key(entry));
            }
        });
        assertThat(store.dropSlot(slot)).isEqualTo(bySlot.get(slot).size());
        assertThat(removed).containsExactlyInAnyOrderElementsOf(bySlot.get(slot));
        assertThat(store.get(b("k1"))).isNull();
        assertThat(store.stats().keys()).isEqualTo(keys - bySlot.get(slot).size());
        assertThat(store.scanSlot(slot, (e, x) -> {})).isZero();
    }

    @Test
    void scanSlot_skipsExpiredEntries() {
        SegmentedLruStore store = store(4);
        store.put(b("soon"), b("1"), clock.currentTimeMillis() + 10);
        clock.advanceMillis(10);
        assertThat(store.scanSlot(Slots.of(b("soon")), (e, x) -> {})).isZero();
    }

    @Test
    void putIfAbsent_storesOnlyWhereNoLiveEntryIs() {
        SegmentedLruStore store = store(4);
        store.put(b("present"), b("new"), Store.NO_EXPIRY);
        store.put(b("expired"), b("old"), clock.currentTimeMillis() + 5);
        clock.advanceMillis(5);

        assertThat(store.putIfAbsent(b("present"), b("copied"), 0, 6, Store.NO_EXPIRY))
                .isNull();
        assertThat(store.putIfAbsent(b("absent"), b("copied"), 0, 6, Store.NO_EXPIRY))
                .isNotNull();
        assertThat(store.putIfAbsent(b("expired"), b("copied"), 0, 6, Store.NO_EXPIRY))
                .isNotNull();
        assertThat(store.putIfAbsent(b("past"), b("x"), 0, 1, clock.currentTimeMillis() - 1))
                .isNull();

        assertThat(new String(store.get(b("present")).value(), UTF_8)).isEqualTo("new");
        assertThat(new String(store.get(b("absent")).value(), UTF_8)).isEqualTo("copied");
        assertThat(new String(store.get(b("expired")).value(), UTF_8)).isEqualTo("copied");
        assertThat(store.get(b("past"))).isNull();
    }

    @Test
    void deleteIfSame_removesOnlyTheEntryItWasGiven() {
        SegmentedLruStore store = store(4);
        byte[] copied = store.putIfAbsent(b("k"), b("copied"), 0, 6, Store.NO_EXPIRY);
        store.put(b("k"), b("newer"), Store.NO_EXPIRY);

        assertThat(store.deleteIfSame(b("k"), copied))
                .as("a newer write replaced it")
                .isFalse();
        assertThat(new String(store.get(b("k")).value(), UTF_8)).isEqualTo("newer");

        byte[] again = store.putIfAbsent(b("j"), b("copied"), 0, 6, Store.NO_EXPIRY);
        assertThat(store.deleteIfSame(b("j"), again)).isTrue();
        assertThat(store.get(b("j"))).isNull();
    }
}
