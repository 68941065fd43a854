package dev.qache.node.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SegmentedLruStoreTest {

    private static final EntrySizer SIZER = EntrySizer.DEFAULT_LAYOUT;

    private final FakeClock clock = new FakeClock();
    private final List<SegmentedLruStore> created = new ArrayList<>();

    /** Every store a test made must be structurally sound when the test ends. */
    @AfterEach
    void checkInvariants() {
        created.forEach(StoreInvariants::check);
    }

    private SegmentedLruStore store(long limitBytes, int segments) {
        SegmentedLruStore store = new SegmentedLruStore(limitBytes, segments, SIZER, clock);
        created.add(store);
        return store;
    }

    private static byte[] b(String s) {
        return s.getBytes(UTF_8);
    }

    private static String text(StoredValue v) {
        return v == null ? null : new String(v.value(), UTF_8);
    }

    /** Bytes that exactly n entries of 2-byte keys and 10-byte values take, without expiry. */
    private static long roomFor(int n) {
        return n * SIZER.entryBytes(2, 10, false);
    }

    private long in(Duration d) {
        return clock.currentTimeMillis() + d.toMillis();
    }

    @Test
    void get_afterPut_returnsValueAndCountsHit() {
        SegmentedLruStore store = store(1 << 20, 4);
        assertThat(store.put(b("k"), b("\"v\""), Store.NO_EXPIRY)).isEqualTo(PutResult.STORED);

        assertThat(text(store.get(b("k")))).isEqualTo("\"v\"");
        assertThat(store.get(b("absent"))).isNull();
        assertThat(store.stats().hits()).isEqualTo(1);
        assertThat(store.stats().misses()).isEqualTo(1);
    }

    @Test
    void get_expiredKey_missesAndRemovesIt() {
        SegmentedLruStore store = store(1 << 20, 4);
        store.put(b("k"), b("1"), in(Duration.ofSeconds(1)));
        clock.advanceMillis(999);
        assertThat(store.get(b("k"))).as("alive 1 ms before expiry").isNotNull();

        clock.advanceMillis(1);

        assertThat(store.get(b("k"))).as("expired exactly at its expiry time").isNull();
        assertThat(store.stats().keys()).isZero();
        assertThat(store.stats().usedBytes()).isZero();
        assertThat(store.stats().expirations()).isEqualTo(1);
    }

    /** A replica's store: its clock hides expired keys, only the primary's delete removes them. */
    @Test
    void notExpiringLocally_expiredKeyIsHiddenButKept_untilDeleted() {
        SegmentedLruStore store = store(1 << 20, 4);
        store.expireLocally(false);
        store.put(b("k"), b("1"), in(Duration.ofSeconds(1)));
        clock.advance(Duration.ofSeconds(2));

        assertThat(store.get(b("k"))).as("hidden once expired").isNull();
        assertThat(store.removeExpired(100)).as("no sweep of its own").isZero();
        assertThat(store.stats().keys()).as("still held").isEqualTo(1);
        assertThat(store.stats().expirations()).isZero();

        // A record whose expiry has passed by this clock (ahead of the primary's) is kept too.
        store.put(b("late"), b("2"), clock.currentTimeMillis() - 10);
        assertThat(store.stats().keys()).isEqualTo(2);
        assertThat(store.get(b("late"))).isNull();

        store.delete(b("k"));
        store.delete(b("late"));
        assertThat(store.stats().keys()).isZero();
    }

    /** Promoted: the same store now expires by its own clock, the hidden keys included. */
    @Test
    void expiringLocallyAgain_removesWhatWasHidden() {
        SegmentedLruStore store = store(1 << 20, 4);
        store.expireLocally(false);
        store.put(b("k"), b("1"), in(Duration.ofSeconds(1)));
        clock.advance(Duration.ofSeconds(2));
        store.expireLocally(true);

        assertThat(store.removeExpired(100)).isEqualTo(1);
        assertThat(store.stats().keys()).isZero();
    }

    @Test
    void delete_expiredKey_reportsAbsent() {
        SegmentedLruStore store = store(1 << 20, 4);
        store.put(b("k"), b("1"), in(Duration.ofSeconds(1)));
        clock.advance(Duration.ofSeconds(2));

        assertThat(store.delete(b("k"))).isFalse();
        assertThat(store.stats().keys()).isZero();
    }

    @Test
    void put_overwriteWithoutTtl_clearsExpiry() {
        SegmentedLruStore store = store(1 << 20, 4);
        store.put(b("k"), b("1"), in(Duration.ofSeconds(1)));
        store.put(b("k"), b("2"), Store.NO_EXPIRY);
        clock.advance(Duration.ofDays(1));

        StoredValue value = store.get(b("k"));
        assertThat(text(value)).isEqualTo("2");
        assertThat(value.expireAtMillis()).isEqualTo(Store.NO_EXPIRY);
    }

    @Test
    void put_overwriteWithTtl_resetsExpiry() {
        SegmentedLruStore store = store(1 << 20, 4);
        store.put(b("k"), b("1"), in(Duration.ofSeconds(10)));
        clock.advance(Duration.ofSeconds(9));
        store.put(b("k"), b("2"), in(Duration.ofSeconds(10)));
        clock.advance(Duration.ofSeconds(9));

        StoredValue value = store.get(b("k"));
        assertThat(text(value)).isEqualTo("2");
        assertThat(value.remainingTtlSeconds(clock.currentTimeMillis())).isEqualTo(1);
        clock.advance(Duration.ofSeconds(1));
        assertThat(store.get(b("k"))).isNull();
    }

    @Test
    void put_expiryAlreadyPast_removesKey() {
        SegmentedLruStore store = store(1 << 20, 4);
        store.put(b("k"), b("1"), Store.NO_EXPIRY);

        assertThat(store.put(b("k"), b("2"), clock.currentTimeMillis())).isEqualTo(PutResult.STORED);
        assertThat(store.get(b("k"))).isNull();
    }

    @Test
    void put_overLimit_evictsLeastRecentlyUsedAndKeepsReadKey() {
        SegmentedLruStore store = store(roomFor(3), 1);
        store.put(b("k1"), b("0123456789"), Store.NO_EXPIRY);
        store.put(b("k2"), b("0123456789"), Store.NO_EXPIRY);
        store.put(b("k3"), b("0123456789"), Store.NO_EXPIRY);
        assertThat(store.get(b("k1"))).as("k1 read: now the most recent").isNotNull();

        store.put(b("k4"), b("0123456789"), Store.NO_EXPIRY);

        assertThat(store.get(b("k2"))).as("oldest untouched goes first").isNull();
        assertThat(store.get(b("k1"))).as("read key survives").isNotNull();
        assertThat(store.get(b("k3"))).isNotNull();
        assertThat(store.get(b("k4"))).isNotNull();
        assertThat(store.stats().evictions()).isEqualTo(1);
    }

    @Test
    void put_overLimit_evictsInLeastRecentlyUsedOrderAcrossSegments() {
        // Sixty-four segments: recency is compared across them by access time, one ms apart here.
        int n = 200;
        SegmentedLruStore store = store(roomFor(n), 64);
        for (int i = 0; i < n; i++) {
            store.put(b(String.format("%02x", i)), b("0123456789"), Store.NO_EXPIRY);
            clock.advanceMillis(1);
        }
        // Touch the 50 oldest: they become the newest.
        for (int i = 0; i < 50; i++) {
            assertThat(store.get(b(String.format("%02x", i)))).isNotNull();
            clock.advanceMillis(1);
        }

        for (int i = 0; i < 100; i++) {
            // Two-byte keys like the others, so every entry has the same size: "G0".."Z9" style.
            store.put(
                    b(new String(new char[] {(char) ('G' + i / 10), (char) ('0' + i % 10)})),
                    b("0123456789"),
                    Store.NO_EXPIRY);
            clock.advanceMillis(1);
        }

        // 100 new keys pushed out exactly the 100 least recently used: keys 50..149.
        for (int i = 0; i < n; i++) {
            boolean expectedPresent = i < 50 || i >= 150;
            assertThat(store.get(b(String.format("%02x", i))) != null)
                    .as("key %02x present", i)
                    .isEqualTo(expectedPresent);
        }
    }

    @Test
    void put_underPressure_removesExpiredBeforeLeastRecentlyUsed() {
        SegmentedLruStore store = store(2 * roomFor(1) + SIZER.entryBytes(2, 10, true), 1);
        store.put(b("k1"), b("0123456789"), Store.NO_EXPIRY);
        store.put(b("k2"), b("0123456789"), in(Duration.ofSeconds(1)));
        store.put(b("k3"), b("0123456789"), Store.NO_EXPIRY);
        clock.advance(Duration.ofSeconds(2));

        store.put(b("k4"), b("0123456789"), Store.NO_EXPIRY);

        assertThat(store.get(b("k1")))
                .as("least recently used, but not expired: kept")
                .isNotNull();
        assertThat(store.stats().expirations()).isEqualTo(1);
        assertThat(store.stats().evictions()).isZero();
    }

    @Test
    void put_largerThanWholeLimit_isRejectedWithoutEvicting() {
        SegmentedLruStore store = store(roomFor(3), 1);
        store.put(b("k1"), b("0123456789"), Store.NO_EXPIRY);
        store.put(b("k2"), b("0123456789"), Store.NO_EXPIRY);
        long usedBefore = store.stats().usedBytes();

        byte[] huge = new byte[(int) roomFor(3)];
        assertThat(store.put(b("k3"), huge, Store.NO_EXPIRY)).isEqualTo(PutResult.TOO_LARGE);

        assertThat(store.stats().usedBytes()).isEqualTo(usedBefore);
        assertThat(store.stats().evictions()).isZero();
        assertThat(store.get(b("k1"))).isNotNull();
        assertThat(store.get(b("k3"))).isNull();
    }

    @Test
    void put_overwriteOfTooLargeValue_keepsOldValue() {
        SegmentedLruStore store = store(roomFor(3), 1);
        store.put(b("k1"), b("0123456789"), Store.NO_EXPIRY);

        assertThat(store.put(b("k1"), new byte[(int) roomFor(3)], Store.NO_EXPIRY))
                .isEqualTo(PutResult.TOO_LARGE);

        assertThat(text(store.get(b("k1")))).isEqualTo("0123456789");
    }

    @Test
    void removeExpired_reclaimsKeysNobodyReads() {
        SegmentedLruStore store = store(64L << 20, 16);
        for (int i = 0; i < 10_000; i++) {
            store.put(b("ttl" + i), b("v"), in(Duration.ofSeconds(1 + i % 3)));
        }
        store.put(b("forever"), b("v"), Store.NO_EXPIRY);
        clock.advance(Duration.ofSeconds(2));

        int removed = 0;
        int batch;
        do {
            batch = store.removeExpired(1_000);
            removed += batch;
        } while (batch == 1_000);

        // Keys with ttl 1 s or 2 s are due (i % 3 == 0 or 1), those with 3 s are not.
        int due = 0;
        for (int i = 0; i < 10_000; i++) {
            due += i % 3 < 2 ? 1 : 0;
        }
        assertThat(removed).isEqualTo(due);
        assertThat(store.stats().keys()).isEqualTo(10_000 - due + 1);
        assertThat(store.stats().expirations()).isEqualTo(due);
        assertThat(store.stats().hits() + store.stats().misses())
                .as("nobody read")
                .isZero();
    }

    @Test
    void stats_memoryAccounting_returnsToZeroWhenEmptied() {
        SegmentedLruStore store = store(1 << 20, 8);
        for (int i = 0; i < 500; i++) {
            store.put(b("k" + i), b("v".repeat(i)), i % 2 == 0 ? Store.NO_EXPIRY : in(Duration.ofSeconds(5)));
        }
        assertThat(store.stats().usedBytes()).isPositive();
        for (int i = 0; i < 500; i++) {
            assertThat(store.delete(b("k" + i))).isTrue();
        }
        assertThat(store.stats().usedBytes()).isZero();
        assertThat(store.stats().keys()).isZero();
    }

    /**
     * Thousands of random operations on a tiny store against a model: the store may forget a key
     * (eviction, expiry) but never returns a value other than the last one written, never an expired
     * one, and after every operation all invariants hold.
     */
    @Test
    void randomOperations_keepInvariantsAndNeverReturnStaleValues() {
        long seed = ThreadLocalRandom.current().nextLong();
        Random random = new Random(seed);
        SegmentedLruStore store = store(4_000, 4);
        record Written(byte[] value, long expireAtMillis) {}
        Map<String, Written> model = new HashMap<>();
        for (int op = 0; op < 20_000; op++) {
            String key = "k" + random.nextInt(40);
            int kind = random.nextInt(10);
            String context = "seed " + seed + ", op " + op;
            if (kind < 4) {
                byte[] value = new byte[random.nextInt(random.nextInt(10) == 0 ? 2_000 : 100)];
                random.nextBytes(value);
                long expireAt =
                        random.nextBoolean() ? Store.NO_EXPIRY : in(Duration.ofMillis(1 + random.nextInt(3_000)));
                PutResult result = store.put(b(key), value, expireAt);
                assertThat(result).as(context).isIn(PutResult.STORED, PutResult.TOO_LARGE);
                if (result == PutResult.STORED) {
                    model.put(key, new Written(value, expireAt));
                    assertThat(store.get(b(key)).value())
                            .as(context + ": a write is readable at once")
                            .isEqualTo(value);
                }
            } else if (kind < 8) {
                StoredValue got = store.get(b(key));
                Written expected = model.get(key);
                if (got != null) {
                    assertThat(expected)
                            .as(context + ": no value was written or it was deleted")
                            .isNotNull();
                    assertThat(got.value()).as(context).isEqualTo(expected.value());
                    assertThat(got.expireAtMillis()).as(context).isEqualTo(expected.expireAtMillis());
                    assertThat(got.expireAtMillis() == Store.NO_EXPIRY
                                    || got.expireAtMillis() > clock.currentTimeMillis())
                            .as(context + ": never an expired value")
                            .isTrue();
                }
            } else if (kind < 9) {
                store.delete(b(key));
                model.remove(key);
            } else {
                clock.advanceMillis(random.nextInt(500));
                if (random.nextBoolean()) {
                    store.removeExpired(1 + random.nextInt(20));
                }
            }
            StoreInvariants.check(store);
        }
    }

    /** Eight threads hammer a small, multi-segment store; afterwards the books must balance. */
    @Test
    void concurrentOperations_leaveConsistentStore() throws Exception {
        SegmentedLruStore store = store(200_000, 8);
        int threads = 8;
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            futures.add(pool.submit(() -> {
                Random random = new Random(id);
                start.await();
                for (int i = 0; i < 100_000; i++) {
                    byte[] key = b("k" + random.nextInt(3_000));
                    switch (random.nextInt(8)) {
                        case 0, 1, 2 -> {
                            byte[] value = new byte[random.nextInt(300)];
                            long expireAt = random.nextInt(4) == 0
                                    ? in(Duration.ofMillis(random.nextInt(50)))
                                    : Store.NO_EXPIRY;
                            PutResult result = store.put(key, value, expireAt);
                            if (result != PutResult.STORED) {
                                throw new AssertionError("unexpected " + result);
                            }
                        }
                        case 3 -> store.delete(key);
                        case 4 -> store.removeExpired(16);
                        case 5 -> clock.advanceMillis(1);
                        default -> store.get(key);
                    }
                }
                return null;
            }));
        }
        start.countDown();
        for (Future<?> f : futures) {
            f.get(2, TimeUnit.MINUTES);
        }
        pool.shutdown();

        StoreInvariants.check(store);
        assertThat(store.stats().evictions())
                .as("the run did exercise eviction")
                .isPositive();
        for (int i = 0; i < 3_000; i++) {
            StoredValue v = store.get(b("k" + i));
            if (v != null) {
                assertThat(v.expireAtMillis() == Store.NO_EXPIRY || v.expireAtMillis() > clock.currentTimeMillis())
                        .isTrue();
            }
        }
    }

    @Test
    void constructor_badArguments_areRejected() {
        assertThatIllegalArgumentException().isThrownBy(() -> new SegmentedLruStore(0, 4, SIZER, clock));
        assertThatIllegalArgumentException().isThrownBy(() -> new SegmentedLruStore(100, 3, SIZER, clock));
    }
}
