package dev.qache.loadtests.jmh;

import dev.qache.node.store.Clock;
import dev.qache.node.store.EntrySizer;
import dev.qache.node.store.SegmentedLruStore;
import dev.qache.node.store.Store;
import dev.qache.node.store.StoredValue;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Store throughput with 1M keys (16-byte keys, 100-byte values), uniformly random access. GET
 * hits every time; SET overwrites an existing key (same size, so no eviction), which exercises
 * the reservation, the segment lock, the LRU move and the accounting. Run at 1 and 2 threads
 * with {@code -t}; add {@code -prof gc} for allocation per operation. The baselineMap benchmarks
 * run the same access pattern on a plain ConcurrentHashMap in the same JVM, as the ratio's
 * denominator on a noisy machine.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
        value = 1,
        jvmArgsAppend = {"-Xms4g", "-Xmx4g", "--sun-misc-unsafe-memory-access=allow"})
public class StoreBenchmark {

    @Param({"1000000"})
    int keys;

    @Param({"64"})
    int segments;

    private Store store;
    private byte[][] keyBytes;
    private byte[] value;

    /** The same keys in a ConcurrentHashMap with no LRU, no accounting: the ceiling to compare with. */
    private ConcurrentHashMap<ByteKey, byte[]> map;

    private ByteKey[] mapKeys;

    record ByteKey(byte[] bytes) {
        @Override
        public boolean equals(Object o) {
            return o instanceof ByteKey k && Arrays.equals(bytes, k.bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }
    }

    @Setup(Level.Trial)
    public void fill() {
        store = new SegmentedLruStore(2L << 30, segments, EntrySizer.forCurrentJvm(), Clock.SYSTEM);
        keyBytes = new byte[keys][];
        value = new byte[100];
        for (int i = 0; i < keys; i++) {
            keyBytes[i] = String.format("key:%012d", i).getBytes(StandardCharsets.US_ASCII);
            store.put(keyBytes[i], value.clone(), Store.NO_EXPIRY);
        }
        map = new ConcurrentHashMap<>(keys * 2);
        mapKeys = new ByteKey[keys];
        for (int i = 0; i < keys; i++) {
            mapKeys[i] = new ByteKey(keyBytes[i].clone());
            map.put(mapKeys[i], value.clone());
        }
    }

    @Benchmark
    public byte[] baselineMapGet() {
        // A fresh wrapper per lookup, as a byte[]-keyed map needs for every request.
        return map.get(new ByteKey(mapKeys[ThreadLocalRandom.current().nextInt(keys)].bytes()));
    }

    @Benchmark
    public byte[] baselineMapSet() {
        return map.put(new ByteKey(mapKeys[ThreadLocalRandom.current().nextInt(keys)].bytes()), value);
    }

    @Benchmark
    public StoredValue get() {
        return store.get(keyBytes[ThreadLocalRandom.current().nextInt(keys)]);
    }

    @Benchmark
    public Object set() {
        return store.put(keyBytes[ThreadLocalRandom.current().nextInt(keys)], value, Store.NO_EXPIRY);
    }
}
