package dev.qache.node.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What replication relies on: the change listener, the scan and clear. */
class StoreChangesTest {

    private final FakeClock clock = new FakeClock();
    private final List<SegmentedLruStore> created = new ArrayList<>();

    @AfterEach
    void checkInvariants() {
        created.forEach(StoreInvariants::check);
    }

    private SegmentedLruStore store(long limitBytes, int segments) {
        SegmentedLruStore store = new SegmentedLruStore(limitBytes, segments, EntrySizer.DEFAULT_LAYOUT, clock);
        created.add(store);
        return store;
    }

    private static byte[] b(String s) {
        return s.getBytes(UTF_8);
    }

    private static String key(byte[] entry) {
        return new String(entry, 1, entry[0] & 0xFF, UTF_8);
    }

    private static String value(byte[] entry) {
        int offset = 1 + (entry[0] & 0xFF);
        return new String(entry, offset, entry.length - offset, UTF_8);
    }

    /** Records changes as "set k=v@expiry" and "del k". */
    private static final class Recorder implements ChangeListener {
        final List<String> changes = new ArrayList<>();

        @Override
        public void stored(byte[] entry, long expireAtMillis) {
            changes.add("set " + key(entry) + "=" + value(entry) + "@" + expireAtMillis);
        }

        @Override
        public void removed(byte[] entry) {
            changes.add("del " + key(entry));
        }

        @Override
        public void deletedAbsent(byte[] key) {
            changes.add("del-absent " + new String(key, UTF_8));
        }
    }

    /**
     * A migration's copy stored over an entry that had expired but was not removed yet: the
     * expired entry's removal is told first (a target must remember that the key changed).
     */
    @Test
    void putIfAbsentOverAnExpiredEntry_tellsItsRemovalFirst() {
        SegmentedLruStore store = store(1 << 20, 4);
        Recorder recorder = new Recorder();
        store.listen(recorder);
        List<String> watched = new ArrayList<>();
        store.watchRemovals(entry -> watched.add(key(entry)));
        store.put(b("k"), b("new"), clock.currentTimeMillis() + 10);
        clock.advanceMillis(20);
        byte[] old = b("old");
        assertThat(store.putIfAbsent(b("k"), old, 0, old.length, Store.NO_EXPIRY))
                .isNotNull();
        assertThat(recorder.changes)
                .containsExactly("set k=new@" + (clock.currentTimeMillis() - 10), "del k", "set k=old@0");
        assertThat(watched).containsExactly("k");
    }

    @Test
    void listener_hearsSetsOverwritesAndDeletes() {
        SegmentedLruStore store = store(1 << 20, 4);
        Recorder recorder = new Recorder();
        store.listen(recorder);

        store.put(b("a"), b("1"), Store.NO_EXPIRY);
        long expiry = clock.currentTimeMillis() + 5000;
        store.put(b("a"), b("22"), expiry);
        store.put(b("a"), b("3"), Store.NO_EXPIRY);
        store.delete(b("a"));
        store.delete(b("never-there"));

        // A delete that finds nothing is told too: replication streams it (a migration target's
        // replica must hear of a delete of a key not copied yet).
        assertThat(recorder.changes)
                .containsExactly("set a=1@0", "set a=22@" + expiry, "set a=3@0", "del a", "del-absent never-there");
    }

    @Test
    void listener_hearsExpiriesLazyAndSweptAsDeletes() {
        SegmentedLruStore store = store(1 << 20, 4);
        Recorder recorder = new Recorder();
        long expiry = clock.currentTimeMillis() + 1000;
        store.put(b("lazy"), b("1"), expiry);
        store.put(b("swept"), b("2"), expiry);
        store.listen(recorder);
        clock.advance(Duration.ofSeconds(1));

        assertThat(store.get(b("lazy"))).isNull();
        assertThat(store.removeExpired(10)).isEqualTo(1);

        assertThat(recorder.changes).containsExactly("del lazy", "del swept");
    }

    @Test
    void listener_hearsEvictionsAsDeletes() {
        long entry = EntrySizer.DEFAULT_LAYOUT.entryBytes(2, 10, false);
        SegmentedLruStore store = store(2 * entry, 1);
        store.put(b("k1"), b("0123456789"), Store.NO_EXPIRY);
        clock.advanceMillis(1);
        store.put(b("k2"), b("0123456789"), Store.NO_EXPIRY);
        clock.advanceMillis(1);
        Recorder recorder = new Recorder();
        store.listen(recorder);

        store.put(b("k3"), b("0123456789"), Store.NO_EXPIRY);

        assertThat(recorder.changes).containsExactly("del k1", "set k3=0123456789@0");
    }

    @Test
    void listen_none_stopsTelling() {
        SegmentedLruStore store = store(1 << 20, 4);
        Recorder recorder = new Recorder();
        store.listen(recorder);
        store.put(b("a"), b("1"), Store.NO_EXPIRY);

        store.listen(ChangeListener.NONE);
        store.put(b("b"), b("2"), Store.NO_EXPIRY);

        assertThat(recorder.changes).containsExactly("set a=1@0");
    }

    @Test
    void scan_visitsEveryLiveEntryOnce_whenNothingChanges() {
        SegmentedLruStore store = store(1 << 24, 8);
        for (int i = 0; i < 1000; i++) {
            store.put(b("k" + i), b("v" + i), i % 2 == 0 ? Store.NO_EXPIRY : clock.currentTimeMillis() + 1000 + i);
        }
        store.put(b("expired"), b("x"), clock.currentTimeMillis() + 10);
        clock.advanceMillis(10);

        Map<String, String> seen = new HashMap<>();
        Map<String, Long> expiries = new HashMap<>();
        long cursor = Store.SCAN_START;
        int calls = 0;
        do {
            cursor = store.scan(cursor, 7, (entry, expireAt) -> {
                assertThat(seen.put(key(entry), value(entry))).as("seen once").isNull();
                expiries.put(key(entry), expireAt);
            });
            calls++;
        } while (cursor != Store.SCAN_DONE);

        assertThat(seen).hasSize(1000).doesNotContainKey("expired").containsEntry("k7", "v7");
        assertThat(expiries)
                .containsEntry("k0", Store.NO_EXPIRY)
                .containsEntry("k7", clock.currentTimeMillis() - 10 + 1007);
        assertThat(calls).isGreaterThanOrEqualTo(1000 / 7);
    }

    /**
     * The full-sync property: scan while random writes, deletes and evictions go on between the
     * scan's calls; replaying the scan into an empty store and then every change told since the
     * scan began gives exactly the source store.
     */
    @Test
    void scanPlusChangesSinceItsStart_rebuildsTheStore_underConcurrentChanges() {
        Random random = new Random(42);
        for (int round = 0; round < 20; round++) {
            long entry = EntrySizer.DEFAULT_LAYOUT.entryBytes(4, 8, true);
            SegmentedLruStore source = store(400 * entry, 4);
            for (int i = 0; i < 300; i++) {
                source.put(b("k" + random.nextInt(500)), b("init" + i), Store.NO_EXPIRY);
            }
            List<Runnable> replay = new ArrayList<>();
            SegmentedLruStore replica = store(1 << 24, 2);
            source.listen(new ChangeListener() {
                @Override
                public void stored(byte[] e, long expireAtMillis) {
                    byte[] k = b(key(e));
                    byte[] v = b(value(e));
                    replay.add(() -> replica.put(k, v, expireAtMillis));
                }

                @Override
                public void removed(byte[] e) {
                    byte[] k = b(key(e));
                    replay.add(() -> replica.delete(k));
                }
            });
            long cursor = Store.SCAN_START;
            List<Runnable> snapshot = new ArrayList<>();
            do {
                cursor = source.scan(cursor, 1 + random.nextInt(20), (e, expireAt) -> {
                    byte[] k = b(key(e));
                    byte[] v = b(value(e));
                    snapshot.add(() -> replica.put(k, v, expireAt));
                });
                for (int i = random.nextInt(30); i > 0; i--) {
                    String k = "k" + random.nextInt(500);
                    switch (random.nextInt(4)) {
                        case 0 -> source.delete(b(k));
                        case 1 -> source.put(b(k), b("t" + i), clock.currentTimeMillis() + 1 + random.nextInt(50));
                        default -> source.put(b(k), b("w" + round + "-" + i), Store.NO_EXPIRY);
                    }
                    clock.advanceMillis(random.nextInt(3));
                }
                source.removeExpired(random.nextInt(5));
            } while (cursor != Store.SCAN_DONE);
            source.listen(ChangeListener.NONE);

            snapshot.forEach(Runnable::run);
            replay.forEach(Runnable::run);

            Map<String, String> expected = contents(source);
            assertThat(contents(replica)).as("round %d", round).isEqualTo(expected);
        }
    }

    private static Map<String, String> contents(Store store) {
        Map<String, String> all = new HashMap<>();
        long cursor = Store.SCAN_START;
        do {
            cursor = store.scan(cursor, 100, (entry, expireAt) -> all.put(key(entry), value(entry) + "@" + expireAt));
        } while (cursor != Store.SCAN_DONE);
        return all;
    }

    @Test
    void clear_removesEverything_andTellsNoListener() {
        SegmentedLruStore store = store(1 << 20, 4);
        for (int i = 0; i < 100; i++) {
            store.put(b("k" + i), b("v"), i % 3 == 0 ? clock.currentTimeMillis() + 100 : Store.NO_EXPIRY);
        }
        Recorder recorder = new Recorder();
        store.listen(recorder);

        store.clear();

        assertThat(store.stats().keys()).isZero();
        assertThat(store.stats().usedBytes()).isZero();
        assertThat(store.get(b("k1"))).isNull();
        assertThat(recorder.changes).isEmpty();
    }
}
