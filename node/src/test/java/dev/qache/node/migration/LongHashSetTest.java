package dev.qache.node.migration;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LongHashSetTest {

    /** Against java.util.HashSet, with 0, negative values and values differing only in high bits. */
    @ParameterizedTest(name = "{0} values")
    @ValueSource(ints = {1, 15, 1_000, 100_000})
    void behavesAsASet(int count) {
        LongHashSet set = new LongHashSet();
        Set<Long> reference = new HashSet<>();
        Random random = new Random(count);
        for (int i = 0; i < count; i++) {
            long value = switch (i % 4) {
                case 0 -> 0;
                case 1 -> (long) random.nextInt(1_000) << 32;
                case 2 -> -random.nextInt(1_000);
                default -> random.nextLong();
            };
            assertThat(set.add(value)).isEqualTo(reference.add(value));
        }
        assertThat(set.size()).isEqualTo(reference.size());
        for (long value : reference) {
            assertThat(set.contains(value)).isTrue();
        }
        for (int i = 0; i < 1_000; i++) {
            long value = random.nextLong();
            assertThat(set.contains(value)).isEqualTo(reference.contains(value));
        }
        assertThat(set.bytes()).isLessThanOrEqualTo(Math.max(16L, Long.highestOneBit(reference.size()) * 4) * 8);
    }
}
