package dev.qache.loadtests.memory;

import dev.qache.node.store.Clock;
import dev.qache.node.store.EntrySizer;
import dev.qache.node.store.SegmentedLruStore;
import dev.qache.node.store.Store;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Bytes per entry at 1M entries, measured as heap used after full GCs (filled minus empty), for
 * 16-byte keys with 32-byte and with 200-byte values. In the same JVM and run, the reference
 * structure the issue names: a ConcurrentHashMap from key to an entry object with an expiry field
 * and LRU links. Prints one line per case: measured, accounted by the store, overhead beyond the
 * key and value bytes.
 *
 * <p>Usage: {@code java [-XX:+UseCompactObjectHeaders] -Xmx4g -cp benchmarks.jar
 * dev.qache.loadtests.memory.MemoryFootprint [entries]}
 */
public final class MemoryFootprint {

    private static final int KEY_BYTES = 16;

    /** What a plain ConcurrentHashMap-based cache holds per entry: value, expiry and LRU links. */
    static final class MapEntry {
        final byte[] value;
        long expireAtMillis;
        MapEntry older;
        MapEntry newer;

        MapEntry(byte[] value) {
            this.value = value;
        }
    }

    /** Keys need equals/hashCode on content: the wrapper any byte[]-keyed map needs. */
    record Key(byte[] bytes) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && java.util.Arrays.equals(bytes, k.bytes);
        }

        @Override
        public int hashCode() {
            return java.util.Arrays.hashCode(bytes);
        }
    }

    public static void main(String[] args) {
        int entries = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        System.out.printf(
                "JVM %s, compact headers %s, %d entries, key %d B%n",
                Runtime.version(), EntrySizer.forCurrentJvm().objectHeaderBytes() == 8, entries, KEY_BYTES);
        System.out.println(
                "case                     | measured B/entry | accounted B/entry | overhead beyond key+value");
        for (int valueBytes : new int[] {32, 200}) {
            measureStore(entries, valueBytes);
            measureMap(entries, valueBytes);
        }
    }

    private static byte[] key(int i) {
        return String.format("k:%014d", i).getBytes(StandardCharsets.US_ASCII);
    }

    private static void measureStore(int entries, int valueBytes) {
        long before = heapAfterGc();
        SegmentedLruStore store = new SegmentedLruStore(8L << 30, 64, EntrySizer.forCurrentJvm(), Clock.SYSTEM);
        for (int i = 0; i < entries; i++) {
            store.put(key(i), new byte[valueBytes], i % 2 == 0 ? Store.NO_EXPIRY : Long.MAX_VALUE / 2);
        }
        long after = heapAfterGc();
        double measured = (double) (after - before) / entries;
        double accounted = (double) store.stats().usedBytes() / entries;
        report("qache store, value " + valueBytes, measured, accounted, valueBytes);
        if (store.stats().keys() != entries) {
            throw new IllegalStateException("store lost entries");
        }
    }

    private static void measureMap(int entries, int valueBytes) {
        long before = heapAfterGc();
        ConcurrentHashMap<Key, MapEntry> map = new ConcurrentHashMap<>();
        MapEntry newest = null;
        for (int i = 0; i < entries; i++) {
            MapEntry e = new MapEntry(new byte[valueBytes]);
            e.expireAtMillis = i;
            e.older = newest;
            if (newest != null) {
                newest.newer = e;
            }
            newest = e;
            map.put(new Key(key(i)), e);
        }
        long after = heapAfterGc();
        double measured = (double) (after - before) / entries;
        report("ConcurrentHashMap+LRU, value " + valueBytes, measured, Double.NaN, valueBytes);
        if (map.size() != entries || newest == null) {
            throw new IllegalStateException("map lost entries");
        }
    }

    private static void report(String name, double measured, double accounted, int valueBytes) {
        System.out.printf(
                "%-32s | %16.1f | %17s | %.1f%n",
                name,
                measured,
                Double.isNaN(accounted) ? "-" : String.format("%.1f", accounted),
                measured - KEY_BYTES - valueBytes);
    }

    private static long heapAfterGc() {
        for (int i = 0; i < 4; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
