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
