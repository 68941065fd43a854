package dev.qache.node.store;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;

/**
 * What one entry really costs on the running JVM: its node object, its data array (key and value
 * together), and its share of the segment's hash table, node array and expiry heap.
 *
 * <p>The object layout depends on JVM flags (compact object headers, compressed class pointers and
 * oops, object alignment), so {@link #forCurrentJvm()} reads them instead of assuming a layout. The
 * unit tests check the node and array sizes against JOL's view of the same JVM, and the memory
 * benchmark checks the whole against the heap after GC.
 */
public record EntrySizer(int objectHeaderBytes, int arrayLengthOffset, int referenceBytes, int alignmentBytes) {

    /** Fields of {@link Node}: two references (data, chain). */
    private static final int NODE_REFERENCES = 2;

    /**
     * Fields of {@link Node}: {@code expireAtMillis} (8) and five ints ({@code accessStamp},
     * {@code heapIndex}, {@code slot}, {@code older}, {@code newer}).
     */
    private static final int NODE_PRIMITIVE_BYTES = 28;

    /**
     * Hash-table slots per entry: with a load factor of 0.75 and doubling, a table holds between
     * 1.33 and 2.67 slots per entry; 2 is the mean over a doubling cycle.
     */
    private static final int TABLE_SLOTS_PER_ENTRY = 2;

    /**
     * Node-array slots per entry: the array doubles when full, so between 1 and 2 per entry; 2
     * bounds it (it halves only below a quarter full, after mass removal).
     */
    private static final int NODE_ARRAY_SLOTS_PER_ENTRY = 2;

    /** Expiry-heap slots per entry that has an expiry: between 1 and 2 with doubling, so 2 at most. */
    private static final int HEAP_SLOTS_PER_ENTRY = 2;

    /** The layout of a 64-bit HotSpot JVM with its default flags and the heap under 32 GiB. */
    public static final EntrySizer DEFAULT_LAYOUT = new EntrySizer(12, 12, 4, 8);

    public static EntrySizer forCurrentJvm() {
        try {
            HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            boolean compactHeaders = flag(vm, "UseCompactObjectHeaders", false);
            boolean compressedClassPointers = compactHeaders || flag(vm, "UseCompressedClassPointers", true);
            boolean compressedOops = flag(vm, "UseCompressedOops", true);
            int alignment =
                    Integer.parseInt(vm.getVMOption("ObjectAlignmentInBytes").getValue());
            int header = compactHeaders ? 8 : compressedClassPointers ? 12 : 16;
            return new EntrySizer(header, header, compressedOops ? 4 : 8, alignment);
        } catch (RuntimeException notHotSpot) {
            return DEFAULT_LAYOUT;
        }
    }

    private static boolean flag(HotSpotDiagnosticMXBean vm, String name, boolean absentValue) {
        try {
            return Boolean.parseBoolean(vm.getVMOption(name).getValue());
        } catch (IllegalArgumentException absent) {
            return absentValue;
        }
    }

    /** Size of one {@link Node} object. */
    public int nodeBytes() {
        return align(objectHeaderBytes + NODE_REFERENCES * referenceBytes + NODE_PRIMITIVE_BYTES);
    }

    /** Size of a {@code byte[]} of the given length, header and padding included. */
    public long byteArrayBytes(int length) {
        return align((long) arrayLengthOffset + 4 + length);
    }

    /**
     * Everything one entry costs: its node, its data array ({@code [key length][key][value]}) and
     * its share of the segment's table, node array and heap.
     */
    public long entryBytes(int keyLength, int valueLength, boolean hasExpiry) {
        return nodeBytes()
                + byteArrayBytes(1 + keyLength + valueLength)
                + (long) (TABLE_SLOTS_PER_ENTRY + NODE_ARRAY_SLOTS_PER_ENTRY) * referenceBytes
                + (hasExpiry ? (long) HEAP_SLOTS_PER_ENTRY * referenceBytes : 0);
    }

    private int align(int bytes) {
        return (bytes + alignmentBytes - 1) & -alignmentBytes;
    }

    private long align(long bytes) {
        return (bytes + alignmentBytes - 1) & -alignmentBytes;
    }
}
