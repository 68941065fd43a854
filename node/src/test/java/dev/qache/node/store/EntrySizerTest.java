package dev.qache.node.store;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.openjdk.jol.info.ClassLayout;
import org.openjdk.jol.info.GraphLayout;

/** The accounted sizes are what the running JVM really allocates, as JOL measures it. */
class EntrySizerTest {

    private final EntrySizer sizer = EntrySizer.forCurrentJvm();

    @Test
    void nodeBytes_matchesJvmLayout() {
        assertThat(sizer.nodeBytes())
                .isEqualTo(ClassLayout.parseClass(Node.class).instanceSize());
    }

    @Test
    void byteArrayBytes_matchesJvmLayout() {
        for (int length : new int[] {0, 1, 7, 8, 16, 32, 100, 200, 1_000}) {
            assertThat(sizer.byteArrayBytes(length))
                    .as("byte[%d]", length)
                    .isEqualTo(
                            GraphLayout.parseInstance((Object) new byte[length]).totalSize());
        }
    }

    @Test
    void entryBytes_countsNodeKeyValueAndTableShare() {
        long expected =
                sizer.nodeBytes() + sizer.byteArrayBytes(16) + sizer.byteArrayBytes(32) + 2L * sizer.referenceBytes();
        assertThat(sizer.entryBytes(16, 32, false)).isEqualTo(expected);
        assertThat(sizer.entryBytes(16, 32, true)).isEqualTo(expected + 2L * sizer.referenceBytes());
    }
}
