package dev.qache.node.migration;

/**
 * A set of longs (key hashes) in one open-addressing array: 8 bytes per slot of capacity, no
 * boxing, no removal (an import's touched keys are only ever added, then dropped with the set).
 * Not thread-safe: {@link ImportTracker} guards each set with its slot's lock.
 */
final class LongHashSet {

    private static final int MIN_CAPACITY = 16;

    /** Slots; 0 marks a free one (the key 0 itself is held by {@link #hasZero}). */
    private long[] table = new long[MIN_CAPACITY];

    private boolean hasZero;
    private int size;

    /** Bytes of the table after the next add, when that add would grow it; else the current bytes. */
    long bytesAfterAdd() {
        return (long) (needsGrowth() ? table.length << 1 : table.length) * Long.BYTES;
    }

    long bytes() {
        return (long) table.length * Long.BYTES;
    }

    int size() {
        return size;
    }

    /** Adds {@code value}; returns whether it was new. Grows at a load of one half. */
    boolean add(long value) {
        if (value == 0) {
            if (hasZero) {
                return false;
            }
            hasZero = true;
            size++;
            return true;
        }
        if (needsGrowth()) {
            grow();
        }
        if (!insert(table, value)) {
            return false;
        }
        size++;
        return true;
    }

    /** The values, in no particular order. */
    long[] toArray() {
        long[] out = new long[size];
        int n = 0;
        if (hasZero) {
            out[n++] = 0;
        }
        for (long value : table) {
            if (value != 0) {
                out[n++] = value;
            }
        }
        return out;
    }

    boolean contains(long value) {
        if (value == 0) {
            return hasZero;
        }
        int mask = table.length - 1;
        for (int i = index(value, mask); ; i = (i + 1) & mask) {
            long at = table[i];
            if (at == value) {
                return true;
            }
            if (at == 0) {
                return false;
            }
        }
    }

    private boolean needsGrowth() {
        return (size + 1) * 2L > table.length;
    }

    private void grow() {
        long[] bigger = new long[table.length << 1];
        for (long value : table) {
            if (value != 0) {
                insert(bigger, value);
            }
        }
        table = bigger;
    }

    private static boolean insert(long[] table, long value) {
        int mask = table.length - 1;
        for (int i = index(value, mask); ; i = (i + 1) & mask) {
            long at = table[i];
            if (at == value) {
                return false;
            }
            if (at == 0) {
                table[i] = value;
                return true;
            }
        }
    }

    /** Key hashes of one slot share bits 32 to 45, so the index mixes all 64 bits first. */
    private static int index(long value, int mask) {
        long mixed = value * 0x9E3779B97F4A7C15L;
        return (int) (mixed ^ (mixed >>> 32)) & mask;
    }
}
