package dev.qache.loadtests.scenarios;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One shard, a primary and two replicas, a router: real processes. Writes reach the replicas; a
 * replica that was frozen catches up from the backlog and one restarted does a full sync; a killed
 * or frozen primary is replaced by a replica under load, and the acknowledged writes lost are only
 * the newest ones (the replication window); a forced promotion under load loses none; a deposed
 * primary rejoins as a replica and takes no writes.
 */
@Timeout(900)
class ReplicationFailoverIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private LocalCluster cluster;

    @AfterEach
    void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    private LocalCluster.Member primary() {
        return cluster.nodes().get("s1");
    }

    private JsonNode status(LocalCluster.Member member) throws Exception {
        HttpResponse<String> response = cluster.status(member);
        assertThat(response.statusCode()).isEqualTo(200);
        return JSON.readTree(response.body());
    }

    private int write(String key, String value) throws Exception {
        return cluster.post(cluster.router().url() + "/" + key, "{\"value\":\"" + value + "\"}")
                .statusCode();
    }

    private void writeOk(String key, String value) throws Exception {
        HttpResponse<String> response =
                cluster.post(cluster.router().url() + "/" + key, "{\"value\":\"" + value + "\"}");
        assertThat(response.statusCode()).as(response.body()).isEqualTo(204);
    }

    private void awaitValueOn(LocalCluster.Member node, String key, String value) {
        await().atMost(Duration.ofSeconds(10))
                .until(() -> cluster.get(node.url() + "/" + key).body().contains("\"value\":\"" + value + "\""));
    }

    @Test
    void writesReachReplicas_replicasRefuseWrites_andCatchUpAfterAFreezeOrARestart() throws Exception {
        cluster = new LocalCluster().start(1, 2);
        LocalCluster.Member replica = cluster.replicas("s1").get(0);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> status(replica).path("link").asText().equals("streaming"));
        for (int i = 0; i < 100; i++) {
            writeOk("k" + i, "v" + i);
        }
        for (LocalCluster.Member r : cluster.replicas("s1")) {
            awaitValueOn(r, "k99", "v99");
            assertThat(cluster.get(r.url() + "/k0").body()).contains("\"v0\"");
        }
        HttpResponse<String> refused = cluster.post(replica.url() + "/k0", "{\"value\":1}");
        assertThat(refused.statusCode()).isEqualTo(421);
        assertThat(refused.body()).contains(primary().address());
        // Deletes and expiries on the primary reach the replicas as deletes.
        assertThat(cluster.send(java.net.http.HttpRequest.newBuilder(
                                        java.net.URI.create(cluster.router().url() + "/k1"))
                                .DELETE())
                        .statusCode())
                .isEqualTo(204);
        cluster.post(cluster.router().url() + "/short-lived", "{\"value\":1,\"ttl\":1}");
        for (LocalCluster.Member r : cluster.replicas("s1")) {
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> cluster.get(r.url() + "/k1").statusCode() == 404);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> cluster.get(r.url() + "/short-lived").statusCode() == 404);
        }

        // Frozen, it misses writes; resumed, it continues from the primary's backlog.
        cluster.freeze(replica);
        for (int i = 0; i < 50; i++) {
            writeOk("frozen" + i, "f" + i);
        }
        cluster.resume(replica);
        awaitValueOn(replica, "frozen49", "f49");

        // Killed and restarted (empty), it does a full sync.
        cluster.kill(replica);
        assertThat(write("while-down", "x")).isEqualTo(204);
        LocalCluster.Member again = cluster.restart(replica);
        awaitValueOn(again, "while-down", "x");
        assertThat(cluster.get(again.url() + "/k5").body()).contains("\"v5\"");
        assertThat(status(again).path("fullSyncsReceived").asLong()).isEqualTo(1);
        assertThat(status(again).path("role").asText()).isEqualTo("replica");
    }

    /** Sequential writes through the router, each key recorded with the time it was acknowledged. */
    private static final class Writer implements Runnable {
        final ConcurrentMap<String, Long> acknowledged = new ConcurrentHashMap<>();
        final AtomicBoolean running = new AtomicBoolean(true);
        final AtomicLong failures = new AtomicLong();
        final AtomicLong lastFailureNanos = new AtomicLong();
        final AtomicLong firstFailureNanos = new AtomicLong();
        private final ReplicationFailoverIT test;
        private final String prefix;

        Writer(ReplicationFailoverIT test, String prefix) {
            this.test = test;
            this.prefix = prefix;
        }

        @Override
        public void run() {
            for (long i = 0; running.get(); i++) {
                String key = prefix + i;
                try {
                    if (test.write(key, "w" + i) == 204) {
                        acknowledged.put(key, System.nanoTime());
                        continue;
                    }
                } catch (Exception e) {
                    // counted below
                }
                failures.incrementAndGet();
                firstFailureNanos.compareAndSet(0, System.nanoTime());
                lastFailureNanos.set(System.nanoTime());
            }
        }
    }

    private List<String> lost(Writer writer) throws Exception {
        List<String> lost = new ArrayList<>();
        for (String key : writer.acknowledged.keySet()) {
            if (cluster.get(cluster.router().url() + "/" + key).statusCode() != 200) {
                lost.add(key);
            }
        }
        return lost;
    }

    /** Reads of keys acknowledged before the crash, back to back, counting the failures. */
    private static final class Reader implements Runnable {
        final AtomicBoolean running = new AtomicBoolean(true);
        final AtomicLong reads = new AtomicLong();
        final AtomicLong failures = new AtomicLong();
        private final ReplicationFailoverIT test;
        private final List<String> keys;

        Reader(ReplicationFailoverIT test, List<String> keys) {
            this.test = test;
            this.keys = keys;
        }

        @Override
        public void run() {
            for (int i = 0; running.get(); i++) {
                reads.incrementAndGet();
                try {
                    String key = keys.get(i % keys.size());
                    if (test.cluster
                                    .get(test.cluster.router().url() + "/" + key)
                                    .statusCode()
                            == 200) {
                        continue;
                    }
                } catch (Exception e) {
                    // counted below
                }
                failures.incrementAndGet();
            }
        }
    }

    /** One trial's figures. */
    record Trial(
            long recoveredMillis,
            long failedWrites,
            int lost,
            int acknowledged,
            long windowMillis,
            long failedReads,
            long reads,
            long lagBytesAtCrash,
            double lagP99Micros) {}

    private static final int WRITERS = 4;

    private Trial failoverUnderLoad(boolean freeze, int trial) throws Exception {
        cluster = new LocalCluster().start(1, 1);
        LocalCluster.Member old = primary();
        LocalCluster.Member replica = cluster.replicas("s1").get(0);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> status(replica).path("link").asText().equals("streaming"));
        List<Writer> writers = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
            Writer writer = new Writer(this, (freeze ? "frozen-" : "killed-") + trial + "-" + w + "-");
            writers.add(writer);
            threads.add(Thread.ofPlatform().start(writer));
        }
        await().atMost(Duration.ofSeconds(20))
                .until(() ->
                        writers.stream().mapToInt(w -> w.acknowledged.size()).sum() > 2000);
        Reader reader =
                new Reader(this, new ArrayList<>(writers.get(0).acknowledged.keySet()));
        Thread readerThread = Thread.ofPlatform().start(reader);
        JsonNode before = status(old);
        long lagBytes = before.at("/replicas/0/lagBytes").asLong();
        double lagP99 = before.path("lagP99Micros").asDouble();

        long crashNanos = System.nanoTime();
        if (freeze) {
            cluster.freeze(old);
        } else {
            cluster.kill(old);
        }
        // Writes succeed again once the replica is promoted: every writer has had a success
        // after its last failure, and at least one failure happened after the crash.
        await().atMost(Duration.ofSeconds(15))
                .until(() -> writers.stream().anyMatch(w -> w.lastFailureNanos.get() > crashNanos)
                        && writers.stream()
                                .allMatch(w -> w.acknowledged.values().stream()
                                        .anyMatch(t -> t > w.lastFailureNanos.get() && t > crashNanos)));
        long lastFailure =
                writers.stream().mapToLong(w -> w.lastFailureNanos.get()).max().orElseThrow();
        long recoveredMillis = (lastFailure - crashNanos) / 1_000_000;
        int recoveredAt = writers.stream().mapToInt(w -> w.acknowledged.size()).sum();
        await().atMost(Duration.ofSeconds(10))
                .until(() ->
                        writers.stream().mapToInt(w -> w.acknowledged.size()).sum() > recoveredAt + 500);
        writers.forEach(w -> w.running.set(false));
        reader.running.set(false);
        for (Thread thread : threads) {
            thread.join();
        }
        readerThread.join();

        int lost = 0;
        int acknowledged = 0;
        long windowMillis = 0;
        for (Writer writer : writers) {
            acknowledged += writer.acknowledged.size();
            for (String key : lost(writer)) {
                lost++;
                windowMillis = Math.max(windowMillis, (crashNanos - writer.acknowledged.get(key)) / 1_000_000);
            }
        }
        Trial result = new Trial(
                recoveredMillis,
                writers.stream().mapToLong(w -> w.failures.get()).sum(),
                lost,
                acknowledged,
                windowMillis,
                reader.failures.get(),
                reader.reads.get(),
                lagBytes,
                lagP99);
        System.out.printf("%s primary, trial %d: %s%n", freeze ? "frozen" : "killed", trial, result);
        assertThat(recoveredMillis).as("writes fail over within 5 s").isLessThan(5_000);
        // Only writes inside the asynchronous replication window may be lost: the newest ones.
        assertThat(windowMillis).as("lost writes are all recent").isLessThan(500);
        JsonNode view = JSON.readTree(cluster.admin("/admin/cluster").body());
        assertThat(view.at("/shards/0/nodes/0/address").asText()).isEqualTo(replica.address());

        // The old primary comes back: as a replica of the new one, taking no writes.
        LocalCluster.Member back;
        if (freeze) {
            cluster.resume(old);
            back = old;
        } else {
            back = cluster.restart(old);
        }
        await().atMost(Duration.ofSeconds(15))
                .until(() -> status(back).path("role").asText().equals("replica")
                        && status(back).path("link").asText().equals("streaming"));
        HttpResponse<String> refused = cluster.post(back.url() + "/after", "{\"value\":1}");
        assertThat(refused.statusCode()).isEqualTo(421);
        assertThat(refused.body()).contains(replica.address());
        writeOk("after-rejoin", "r");
        awaitValueOn(back, "after-rejoin", "r");
        cluster.close();
        cluster = null;
        return result;
    }

    /** Trials per failover scenario: 1 in verify; {@code -Dqache.trials=5} for the figures. */
    private static final int TRIALS = Integer.getInteger("qache.trials", 1);

    private void failoverTrials(boolean freeze) throws Exception {
        List<Trial> trials = new ArrayList<>();
        for (int t = 1; t <= TRIALS; t++) {
            trials.add(failoverUnderLoad(freeze, t));
        }
        System.out.printf(
                "%s primary, medians of %d: writes failing %d ms, failed writes %d, lost %d, window %d ms,"
                        + " failed reads %d of %d, lag at crash %d B, lag p99 %.0f us%n",
                freeze ? "frozen" : "killed",
                trials.size(),
                median(trials, Trial::recoveredMillis),
                median(trials, Trial::failedWrites),
                median(trials, t -> t.lost()),
                median(trials, Trial::windowMillis),
                median(trials, Trial::failedReads),
                median(trials, Trial::reads),
                median(trials, Trial::lagBytesAtCrash),
                (double) median(trials, t -> (long) t.lagP99Micros()));
    }

    private static long median(List<Trial> trials, java.util.function.ToLongFunction<Trial> f) {
        long[] values = trials.stream().mapToLong(f).sorted().toArray();
        return values[values.length / 2];
    }

    @Test
    void killedPrimary_isReplacedUnderLoad_losingOnlyTheReplicationWindow() throws Exception {
        failoverTrials(false);
    }

    @Test
    void frozenPrimary_isReplacedUnderLoad_andRejoinsAsAReplica() throws Exception {
        failoverTrials(true);
    }

    @Test
    void aReplicaFallenBehindTheBacklog_doesAFullSync() throws Exception {
        cluster = new LocalCluster()
                .withNodeOptions(
                        "-Dqache.node.replication.backlog-size=64K",
                        // The primary holds up to this much for a replica beyond the backlog.
                        "-Dqache.node.replication.sync-buffer-size=1M")
                .start(1, 1);
        LocalCluster.Member replica = cluster.replicas("s1").get(0);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> status(replica).path("link").asText().equals("streaming"));
        assertThat(status(replica).path("fullSyncsReceived").asLong()).isEqualTo(1);
        cluster.freeze(replica);
        // 20 MB of stream: more than the socket buffers between the two (which the primary keeps
        // writing into while the replica is frozen) plus the 1 MB it holds for it and the 64 KB
        // backlog.
        String value = "x".repeat(10_000);
        for (int i = 0; i < 2000; i++) {
            writeOk("behind" + i, value);
        }
        cluster.resume(replica);
        awaitValueOn(replica, "behind1999", value);
        assertThat(status(replica).path("fullSyncsReceived").asLong()).isEqualTo(2);
        assertThat(cluster.get(replica.url() + "/behind0").body()).contains(value);
    }

    @Test
    void aKilledReplica_isInvisibleToClients() throws Exception {
        cluster = new LocalCluster().start(1, 1);
        LocalCluster.Member replica = cluster.replicas("s1").get(0);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> status(replica).path("link").asText().equals("streaming"));
        Writer writer = new Writer(this, "replica-killed-");
        Thread writing = Thread.ofPlatform().start(writer);
        await().atMost(Duration.ofSeconds(10)).until(() -> writer.acknowledged.size() > 200);
        Reader reader = new Reader(this, new ArrayList<>(writer.acknowledged.keySet()));
        Thread reading = Thread.ofPlatform().start(reader);

        cluster.kill(replica);
        int at = writer.acknowledged.size();
        long readsAt = reader.reads.get();
        // Until the router has found the replica down and well after.
        await().atMost(Duration.ofSeconds(10))
                .until(() -> writer.acknowledged.size() > at + 500 && reader.reads.get() > readsAt + 500);
        writer.running.set(false);
        reader.running.set(false);
        writing.join();
        reading.join();

        assertThat(writer.failures.get()).isZero();
        assertThat(reader.failures.get()).isZero();
        assertThat(lost(writer)).isEmpty();
    }

    @Test
    void forcedPromotionUnderLoad_losesNoAcknowledgedWrite() throws Exception {
        cluster = new LocalCluster().start(1, 1);
        LocalCluster.Member replica = cluster.replicas("s1").get(0);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> status(replica).path("link").asText().equals("streaming"));
        Writer writer = new Writer(this, "forced-");
        Thread thread = Thread.ofPlatform().start(writer);
        await().atMost(Duration.ofSeconds(10)).until(() -> writer.acknowledged.size() > 200);

        HttpResponse<String> promoted = cluster.adminPost("/admin/shards/s1/promote", "");
        assertThat(promoted.statusCode()).as(promoted.body()).isEqualTo(200);
        int before = writer.acknowledged.size();
        await().atMost(Duration.ofSeconds(10)).until(() -> writer.acknowledged.size() > before + 200);
        writer.running.set(false);
        thread.join();

        assertThat(JSON.readTree(promoted.body()).at("/shards/0/primary").asText())
                .isEqualTo(replica.address());
        assertThat(lost(writer)).isEmpty();
        assertThat(writer.failures.get()).isZero();
    }

    /**
     * A lone router that lost its disk (its Raft data and its map file) after a forced promotion:
     * its group has no map, so it asks the nodes it is configured with for theirs and commits the
     * newest (epoch 2) as its first, not the epoch 1 its configuration makes, which names the old
     * primary; every write and read through it works (issue 16 saw 141 of 300 writes fail with 503
     * before). Then a router restored from an old backup of its data directory (epoch 1): its
     * first push meets the nodes' newer epoch and it adopts their map.
     */
    @Test
    void routerRestartedWithoutItsDisk_orFromAnOldBackup_takesTheNodesNewerMap() throws Exception {
        cluster = new LocalCluster().start(2, 1);
        LocalCluster.Member replica = cluster.replicas("s1").get(0);
        java.nio.file.Path mapFile = cluster.dir().resolve("cluster-map.json");
        java.nio.file.Path backup = cluster.dir().resolve("router-data-epoch-1");
        cluster.kill(cluster.router());
        LocalCluster.copyTree(cluster.routerDataDir(), backup);
        cluster.startRouter();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> status(replica).path("link").asText().equals("streaming"));
        HttpResponse<String> promoted = cluster.adminPost("/admin/shards/s1/promote", "");
        assertThat(promoted.statusCode()).as(promoted.body()).isEqualTo(200);
        long epoch = JSON.readTree(promoted.body()).path("epoch").asLong();
        assertThat(epoch).isGreaterThan(1);
        for (int i = 0; i < 50; i++) {
            writeOk("before-" + i, "v" + i);
        }

        cluster.kill(cluster.router());
        LocalCluster.deleteTree(cluster.routerDataDir());
        java.nio.file.Files.delete(mapFile);
        cluster.startRouter();
        assertThat(JSON.readTree(cluster.admin("/admin/cluster").body())
                        .path("epoch")
                        .asLong())
                .as("the epoch the restarted router starts with")
                .isEqualTo(epoch);
        assertThat(cluster.shard("s1").path("nodes").get(0).path("address").asText())
                .isEqualTo(replica.address());
        assertEveryWriteAndReadWorks("after-", 300);

        cluster.kill(cluster.router());
        LocalCluster.deleteTree(cluster.routerDataDir());
        LocalCluster.copyTree(backup, cluster.routerDataDir());
        cluster.startRouter();
        await().atMost(Duration.ofSeconds(5))
                .until(() -> JSON.readTree(cluster.admin("/admin/cluster").body())
                                .path("epoch")
                                .asLong()
                        == epoch);
        assertThat(cluster.admin("/q/metrics").body()).contains("qache_router_map_adoptions_total 1.0");
        assertEveryWriteAndReadWorks("restored-", 100);
        for (int i = 0; i < 50; i++) {
            assertThat(cluster.get(cluster.router().url() + "/before-" + i).body())
                    .contains("\"v" + i + "\"");
        }
    }

    private void assertEveryWriteAndReadWorks(String prefix, int keys) throws Exception {
        java.util.List<String> failed = new java.util.ArrayList<>();
        for (int i = 0; i < keys; i++) {
            HttpResponse<String> written =
                    cluster.post(cluster.router().url() + "/" + prefix + i, "{\"value\":\"v" + i + "\"}");
            if (written.statusCode() != 204) {
                failed.add(prefix + i + ": " + written.statusCode() + " " + written.body());
            }
        }
        assertThat(failed).as("writes through the restarted router").isEmpty();
        for (int i = 0; i < keys; i++) {
            HttpResponse<String> read = cluster.get(cluster.router().url() + "/" + prefix + i);
            assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
        }
    }
}
