package dev.qache.node.replication;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.qache.node.store.Clock;
import dev.qache.node.store.EntrySizer;
import dev.qache.node.store.SegmentedLruStore;
import dev.qache.node.store.Store;
import dev.qache.node.store.StoredValue;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ReplicationLogTest {

    private static byte[] entry(String key, String value) {
        byte[] k = key.getBytes(UTF_8);
        byte[] v = value.getBytes(UTF_8);
        byte[] e = new byte[1 + k.length + v.length];
        e[0] = (byte) k.length;
        System.arraycopy(k, 0, e, 1, k.length);
        System.arraycopy(v, 0, e, 1 + k.length, v.length);
        return e;
    }

    private static Store store() {
        return new SegmentedLruStore(1 << 24, 4, EntrySizer.forCurrentJvm(), Clock.SYSTEM);
    }

    private static String get(Store store, String key) {
        StoredValue v = store.get(key.getBytes(UTF_8));
        return v == null ? null : new String(v.value(), UTF_8);
    }

    @Test
    void offsetCountsRecordBytes() {
        ReplicationLog log = new ReplicationLog(4096);
        log.stored(entry("k", "v1"), 0);
        assertThat(log.offset()).isEqualTo(ReplicationLog.SET_HEADER + 1 + 1 + 2);
        log.removed(entry("k", "v1"));
        assertThat(log.offset()).isEqualTo(ReplicationLog.SET_HEADER + 4 + 2 + 1);
    }

    @Test
    void recordsReadBack_applyToAnotherStore_inOrder() {
        ReplicationLog log = new ReplicationLog(4096);
        log.stored(entry("a", "1"), 0);
        log.stored(entry("b", "2"), Long.MAX_VALUE - 1);
        log.stored(entry("a", "3"), 0);
        log.removed(entry("b", "2"));
        Store replica = store();

        new Records(replica).apply(log.read(0, 10_000), null);

        assertThat(get(replica, "a")).isEqualTo("3");
        assertThat(get(replica, "b")).isNull();
    }

    /** A delete that found nothing travels as a delete: the replica's store is told of it too. */
    @Test
    void aDeleteOfAnAbsentKey_isStreamed_andReachesTheReplicasWatcher() {
        ReplicationLog log = new ReplicationLog(4096);
        log.deletedAbsent("gone".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertThat(log.offset()).isEqualTo(2 + 4);
        Store replica = store();
        java.util.List<String> absent = new java.util.ArrayList<>();
        replica.watchRemovals(new dev.qache.node.store.RemovalWatcher() {
            @Override
            public void removed(byte[] entry) {}

            @Override
            public void deletedAbsent(byte[] key) {
                absent.add(new String(key, java.nio.charset.StandardCharsets.UTF_8));
            }
        });
        new Records(replica).apply(log.read(0, 10_000), null);
        assertThat(absent).containsExactly("gone");
    }

    @Test
    void chunksCutAnywhere_applyTheSame_andTheReplicaLogMatchesByteForByte() {
        ReplicationLog primary = new ReplicationLog(1 << 16);
        Random random = new Random(7);
        for (int i = 0; i < 500; i++) {
            if (random.nextInt(4) == 0) {
                primary.removed(entry("k" + random.nextInt(50), ""));
            } else {
                primary.stored(entry("k" + random.nextInt(50), "v".repeat(random.nextInt(40)) + i), 0);
            }
        }
        Store whole = store();
        new Records(whole).apply(primary.read(0, Integer.MAX_VALUE), null);

        Store cut = store();
        ReplicationLog replicaLog = new ReplicationLog(1 << 16);
        Records records = new Records(cut);
        long from = 0;
        while (from < primary.offset()) {
            byte[] chunk = primary.read(from, 1 + random.nextInt(64));
            records.apply(chunk, replicaLog);
            from += chunk.length;
            assertThat(replicaLog.offset() + records.pendingBytes()).isEqualTo(from);
        }

        assertThat(replicaLog.offset()).isEqualTo(primary.offset());
        assertThat(replicaLog.read(0, Integer.MAX_VALUE)).isEqualTo(primary.read(0, Integer.MAX_VALUE));
        for (int i = 0; i < 50; i++) {
            assertThat(get(cut, "k" + i)).as("k" + i).isEqualTo(get(whole, "k" + i));
        }
    }

    @Test
    void ringKeepsOnlyTheNewestBytes_andAnOlderReadIsAnOverrun() {
        ReplicationLog log = new ReplicationLog(1024);
        for (int i = 0; i < 100; i++) {
            log.stored(entry("key" + i, "value-" + i), 0);
        }
        assertThat(log.startOffset()).isEqualTo(log.offset() - 1024);

        assertThatThrownBy(() -> log.read(log.startOffset() - 1, 10))
                .isInstanceOf(ReplicationLog.BacklogOverrunException.class);
        byte[] newest = log.read(log.startOffset(), 2048);
        assertThat(newest).hasSize(1024);
        assertThat(log.read(log.offset(), 10)).isEmpty();
        assertThatIllegalArgumentException().isThrownBy(() -> log.read(log.offset() + 1, 10));
    }

    @Test
    void wrappedReads_returnTheBytesInStreamOrder() {
        ReplicationLog log = new ReplicationLog(1024);
        ReplicationLog reference = new ReplicationLog(1 << 20);
        for (int i = 0; i < 300; i++) {
            byte[] e = entry("k" + i, "x".repeat(i % 17));
            log.stored(e, i);
            reference.stored(e, i);
        }
        long from = log.startOffset();
        assertThat(log.read(from, 1024)).isEqualTo(reference.read(from, 1024));
        assertThat(log.read(from + 1000, 1024)).isEqualTo(reference.read(from + 1000, 1024));
    }

    /** A backlog of several chunks (the ring is an array of 1 MiB arrays), wrapped twice. */
    @Test
    void aBacklogOfSeveralChunks_readsAcrossChunkEdgesAndTheWrap() {
        long capacity = 2L * ReplicationLog.CHUNK + 777;
        ReplicationLog log = new ReplicationLog(capacity);
        ReplicationLog reference = new ReplicationLog(16L * ReplicationLog.CHUNK);
        java.util.Random random = new java.util.Random(3);
        while (log.offset() < 2 * capacity + 12_345) {
            byte[] e = entry("k" + random.nextInt(1000), "y".repeat(random.nextInt(70_000)));
            log.stored(e, 1);
            reference.stored(e, 1);
        }
        assertThat(log.capacity()).isEqualTo(capacity);
        assertThat(log.startOffset()).isEqualTo(log.offset() - capacity);
        for (long from = log.startOffset(); from < log.offset(); from += 250_001) {
            assertThat(log.read(from, 300_000)).as("from %d", from).isEqualTo(reference.read(from, 300_000));
        }
    }

    @Test
    void aRecordLargerThanTheRing_leavesOnlyItsTail() {
        ReplicationLog log = new ReplicationLog(1024);
        byte[] big = entry("big", "v".repeat(5000));
        log.stored(big, 0);

        assertThat(log.offset()).isEqualTo(ReplicationLog.SET_HEADER + big.length);
        assertThat(log.startOffset()).isEqualTo(log.offset() - 1024);
        byte[] tail = log.read(log.startOffset(), 1024);
        assertThat(tail).isEqualTo(Arrays.copyOfRange(big, big.length - 1024, big.length));
    }

    @Test
    void canContinue_sameHistoryWithinTheBacklog_orThePreviousHistoryUpToWhereItEnded() {
        ReplicationLog log = new ReplicationLog(1024);
        String first = log.replicationId();
        log.stored(entry("a", "1"), 0);
        long promotedAt = log.offset();

        assertThat(log.canContinue(first, 0)).isTrue();
        assertThat(log.canContinue(first, promotedAt)).isTrue();
        assertThat(log.canContinue("someone-else", 0)).isFalse();

        log.startNewHistory();
        log.stored(entry("b", "2"), 0);

        assertThat(log.replicationId()).isNotEqualTo(first);
        assertThat(log.canContinue(log.replicationId(), promotedAt)).isTrue();
        assertThat(log.canContinue(first, promotedAt))
                .as("a replica of the old primary, caught up")
                .isTrue();
        assertThat(log.canContinue(first, promotedAt + 1))
                .as("the old history went further than this node got: divergent, so a full sync")
                .isFalse();
        for (int i = 0; i < 100; i++) {
            log.stored(entry("fill" + i, "xxxxxxxxxx"), 0);
        }
        assertThat(log.canContinue(first, promotedAt))
                .as("no longer in the backlog")
                .isFalse();
    }

    @Test
    void forgetHistory_leavesNothingAnyReplicaCanContinue() {
        ReplicationLog log = new ReplicationLog(1024);
        String first = log.replicationId();
        log.stored(entry("a", "1"), 0);
        log.startNewHistory();
        String second = log.replicationId();
        log.stored(entry("b", "2"), 0);
        long end = log.offset();

        log.forgetHistory();

        assertThat(log.replicationId()).isNotIn(first, second);
        assertThat(log.previousId()).isEmpty();
        assertThat(log.previousEnd()).isEqualTo(-1);
        assertThat(log.offset()).isEqualTo(end);
        for (String history : new String[] {first, second, ReplicationLog.NO_HISTORY}) {
            for (long offset : new long[] {0, end}) {
                assertThat(log.canContinue(history, offset))
                        .as("%s at %d", history, offset)
                        .isFalse();
            }
        }
        log.startNewHistory();
        assertThat(log.canContinue(first, end))
                .as("promoted later, it still continues nobody's stream")
                .isFalse();
    }

    @Test
    void reset_startsAnEmptyBacklogAtTheGivenOffset() {
        ReplicationLog log = new ReplicationLog(1024);
        log.stored(entry("a", "1"), 0);

        log.reset("primary-id", 5_000);

        assertThat(log.replicationId()).isEqualTo("primary-id");
        assertThat(log.offset()).isEqualTo(5_000);
        assertThat(log.startOffset()).isEqualTo(5_000);
        assertThat(log.canContinue("primary-id", 5_000)).isTrue();
        assertThat(log.canContinue("primary-id", 4_999)).isFalse();
    }

    @Test
    void tailsAreWokenOnEveryAppend_untilRemoved() {
        ReplicationLog log = new ReplicationLog(1024);
        AtomicInteger wakes = new AtomicInteger();
        Runnable tail = wakes::incrementAndGet;
        log.onAppend(tail);
        log.stored(entry("a", "1"), 0);
        log.removed(entry("a", "1"));
        log.removeOnAppend(tail);
        log.stored(entry("b", "1"), 0);

        assertThat(wakes).hasValue(2);
    }

    @Test
    void aReplicaWithNoRoomForAValue_dropsTheKeyRatherThanKeepItsOldValue() {
        Store small = new SegmentedLruStore(600, 1, EntrySizer.forCurrentJvm(), Clock.SYSTEM);
        ReplicationLog log = new ReplicationLog(1 << 16);
        log.stored(entry("k", "old"), 0);
        log.stored(entry("k", "n".repeat(2000)), 0);

        new Records(small).apply(log.read(0, Integer.MAX_VALUE), null);

        assertThat(get(small, "k")).isNull();
    }
}
