package dev.qache.loadtests.scenarios;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The faults Wave 1 lost data or availability under, one scenario each, on real processes: a
 * pause of the primary while its only replica is not synced, a primary restarted empty, a paused
 * primary that wakes up after it was replaced, a short pause under read load, a half-open
 * replication link, and a full sync under steady writes with a small backlog. Each reproduces the
 * conditions of a loss reported against Wave 1 (issue 14) and checks the rule that now prevents it
 * (docs/ARCHITECTURE.md, "Fencing", "Promotion", "Full sync").
 */
@Timeout(600)
class FaultScenariosIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private LocalCluster cluster;

    @AfterEach
    void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    private JsonNode status(LocalCluster.Member member) throws Exception {
        return JSON.readTree(cluster.status(member).body());
    }

    private int write(String key, String value) throws Exception {
        return cluster.post(cluster.router().url() + "/" + key, "{\"value\":\"" + value + "\"}")
                .statusCode();
    }

    private void writeKeys(String prefix, int count) throws Exception {
        for (int i = 0; i < count; i++) {
            assertThat(write(prefix + i, "v" + i)).isEqualTo(204);
        }
    }

    private void awaitStreamingWith(LocalCluster.Member replica, String key) {
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            JsonNode s = status(replica);
            return s.path("link").asText().equals("streaming")
                    && s.path("synced").asBoolean()
                    && cluster.get(replica.url() + "/" + key).statusCode() == 200;
        });
    }

    private int missing(String prefix, int count) throws Exception {
        int missing = 0;
        for (int i = 0; i < count; i++) {
            HttpResponse<String> read = cluster.get(cluster.router().url() + "/" + prefix + i);
            if (read.statusCode() != 200 || !read.body().contains("\"v" + i + "\"")) {
                missing++;
            }
        }
        return missing;
    }

    /**
     * Wave 1: the primary paused while its replica was restarting; the replica, empty, was
     * promoted, and the old primary wiped itself to match it. Now a replica that has not finished
     * its sync is not eligible: the shard refuses writes and says why, and when the primary comes
     * back it is still primary, with every key.
     */
    @Test
    void primaryPausedWhileItsReplicaResyncs_isNotReplacedByTheEmptyReplica() throws Exception {
        cluster = new LocalCluster().start(1, 1);
        LocalCluster.Member primary = cluster.nodes().get("s1");
        LocalCluster.Member replica = cluster.replicas("s1").get(0);
        writeKeys("k", 500);
        awaitStreamingWith(replica, "k499");

        cluster.freeze(primary);
        cluster.kill(replica);
        LocalCluster.Member restarted = cluster.restart(replica);
        // Once the restarted replica has the map it says it is syncing, and that is the reason.
        await().atMost(Duration.ofSeconds(20))
                .until(() ->
                        cluster.shard("s1").path("writesUnavailable").asText().contains("still syncing"));
        HttpResponse<String> refused = cluster.post(cluster.router().url() + "/during", "{\"value\":\"x\"}");
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(cluster.primaryOf("s1")).isEqualTo(primary.address());

        cluster.resume(primary);
        await().atMost(Duration.ofSeconds(20)).until(() -> write("after", "a") == 204);
        assertThat(cluster.primaryOf("s1")).isEqualTo(primary.address());
        assertThat(missing("k", 500)).isZero();
        awaitStreamingWith(restarted, "k499");
    }

    /**
     * Wave 1: a primary killed and restarted before the router noticed came back empty, stayed
     * primary, and its replica wiped itself to match. Now the restarted primary gets no lease, so
     * it takes no write and serves no replica, and the replica that holds its old history
     * replaces it.
     */
    @Test
    void primaryRestartedEmpty_isReplacedByTheReplicaHoldingItsData() throws Exception {
        // Slow detection, so the restart comes back before the primary is ever DOWN.
        cluster = new LocalCluster().start(1, 1, "-Dqache.router.failover.failure-threshold=300");
        LocalCluster.Member primary = cluster.nodes().get("s1");
        LocalCluster.Member replica = cluster.replicas("s1").get(0);
        writeKeys("k", 300);
        awaitStreamingWith(replica, "k299");
        long fullSyncs = status(replica).path("fullSyncsReceived").asLong();

        cluster.kill(primary);
        cluster.restart(primary);
        await().atMost(Duration.ofSeconds(20))
                .until(() -> cluster.primaryOf("s1").equals(replica.address()));
        assertThat(missing("k", 300)).isZero();
        assertThat(write("after", "a")).isEqualTo(204);
        assertThat(status(replica).path("fullSyncsReceived").asLong())
                .as("the replica kept its data: no full sync from the empty node")
                .isEqualTo(fullSyncs);
    }

    /**
     * Wave 1: a paused primary that woke up after its replacement still applied and acknowledged
     * the writes waiting in its sockets. Now its lease has lapsed by then: it refuses them, and
     * none of them is readable afterwards.
     */
    @Test
    void pausedPrimaryWakingAfterItsReplacement_refusesTheWritesQueuedInItsSockets() throws Exception {
        cluster = new LocalCluster().start(1, 1);
        LocalCluster.Member primary = cluster.nodes().get("s1");
        LocalCluster.Member replica = cluster.replicas("s1").get(0);
        writeKeys("k", 50);
        awaitStreamingWith(replica, "k49");
        long epoch = status(primary).path("epoch").asLong();

        cluster.freeze(primary);
        // As a router whose map is the old one would: straight to the old primary, its epoch.
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<HttpResponse<String>>> queued = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            String key = "queued" + i;
            queued.add(pool.submit(() -> cluster.send(HttpRequest.newBuilder(URI.create(primary.url() + "/" + key))
                    .header("Content-Type", "application/json")
                    .header("Qache-Epoch", Long.toString(epoch))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"value\":\"stale\"}")))));
        }
        await().atMost(Duration.ofSeconds(20))
                .until(() -> cluster.primaryOf("s1").equals(replica.address()));
        cluster.resume(primary);
        for (Future<HttpResponse<String>> answer : queued) {
            HttpResponse<String> response = answer.get();
            assertThat(response.statusCode()).as(response.body()).isIn(421, 503);
        }
        pool.shutdown();
        for (int i = 0; i < 4; i++) {
            assertThat(cluster.get(cluster.router().url() + "/queued" + i).statusCode())
                    .isEqualTo(404);
        }
        assertThat(missing("k", 50)).isZero();
    }

    /**
     * Wave 1: a 350 ms pause of a healthy primary under GET load failed 19 of the next 60 writes,
     * because the hedged GETs' timeouts opened the circuit breaker writes shared. Now reads and
     * writes have their own breakers and a write waits (bounded by the forward timeout).
     */
    @Test
    void shortPauseOfThePrimaryUnderReadLoad_failsNoWrite() throws Exception {
        cluster = new LocalCluster().start(1, 1, "-Dqache.router.forward-timeout=2s");
        LocalCluster.Member primary = cluster.nodes().get("s1");
        writeKeys("k", 20);
        awaitStreamingWith(cluster.replicas("s1").get(0), "k19");

        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger writes = new AtomicInteger();
        AtomicInteger failedWrites = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(5);
        List<CompletableFuture<Void>> load = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int thread = t;
            load.add(CompletableFuture.runAsync(
                    () -> {
                        int i = 0;
                        while (running.get()) {
                            try {
                                cluster.get(cluster.router().url() + "/k" + (i++ + thread) % 20);
                            } catch (Exception ignored) {
                                // a read that fails is not what this test counts
                            }
                        }
                    },
                    pool));
        }
        load.add(CompletableFuture.runAsync(
                () -> {
                    int i = 0;
                    while (running.get()) {
                        try {
                            writes.incrementAndGet();
                            if (write("w" + i++, "x") != 204) {
                                failedWrites.incrementAndGet();
                            }
                        } catch (Exception e) {
                            failedWrites.incrementAndGet();
                        }
                    }
                },
                pool));
        await().atMost(Duration.ofSeconds(10)).until(() -> writes.get() > 50);
        for (int pause = 0; pause < 3; pause++) {
            cluster.freeze(primary);
            Thread.sleep(350); // the fault itself: a 350 ms pause
            cluster.resume(primary);
            int after = writes.get();
            await().atMost(Duration.ofSeconds(10)).until(() -> writes.get() > after + 60);
        }
        running.set(false);
        CompletableFuture.allOf(load.toArray(CompletableFuture[]::new)).get();
        pool.shutdown();
        assertThat(failedWrites.get()).as("failed writes of %d", writes.get()).isZero();
        assertThat(cluster.primaryOf("s1")).as("no failover for a short pause").isEqualTo(primary.address());
    }

    /**
     * Wave 1: the replication socket had no heartbeat, so a primary that stopped answering (a
     * pause, a partition dropping packets) left the replica "streaming" for ever. Now both sides
     * notice within the idle timeout and the replica reconnects, with a partial sync.
     */
    @Test
    void halfOpenReplicationLink_isNoticedWithinFiveSeconds() throws Exception {
        cluster = new LocalCluster().start(1, 1, "-Dqache.router.failover.automatic=false");
        LocalCluster.Member primary = cluster.nodes().get("s1");
        LocalCluster.Member replica = cluster.replicas("s1").get(0);
        writeKeys("k", 10);
        awaitStreamingWith(replica, "k9");

        cluster.freeze(primary);
        long frozenAt = System.nanoTime();
        await().atMost(Duration.ofSeconds(8))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> !status(replica).path("link").asText().equals("streaming"));
        long noticedMillis = (System.nanoTime() - frozenAt) / 1_000_000;
        cluster.resume(primary);
        assertThat(noticedMillis).as("ms until the replica noticed").isLessThanOrEqualTo(5_000);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> status(replica).path("link").asText().equals("streaming"));
        assertThat(status(replica).path("fullSyncsReceived").asLong()).isEqualTo(1);
        assertThat(status(replica).path("partialSyncsReceived").asLong()).isGreaterThanOrEqualTo(1);
    }

    /**
     * Wave 1: during a full sync only the backlog held the stream, so a shard larger than the
     * backlog could take in while its snapshot was sent never finished syncing. Now the stream goes
     * alongside the snapshot: with a 1 MB backlog, a 24 MB shard and steady writes, the restarted
     * replica syncs on its first attempt.
     */
    @Test
    void fullSyncUnderSteadyWrites_withABacklogSmallerThanTheWrites_completesOnItsFirstAttempt() throws Exception {
        cluster = new LocalCluster()
                .withNodeOptions("-Dqache.node.replication.backlog-size=1M")
                .start(1, 1);
        LocalCluster.Member primary = cluster.nodes().get("s1");
        LocalCluster.Member replica = cluster.replicas("s1").get(0);
        String value = "x".repeat(4000);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> fill = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int thread = t;
            fill.add(pool.submit(() -> {
                for (int i = thread; i < 6000; i += 4) {
                    cluster.post(cluster.router().url() + "/big" + i, "{\"value\":\"" + value + "\"}");
                }
                return null;
            }));
        }
        for (Future<?> f : fill) {
            f.get();
        }
        awaitStreamingWith(replica, "big5999");
        long servedBefore = status(primary).path("fullSyncsServed").asLong();

        AtomicBoolean running = new AtomicBoolean(true);
        Future<?> writer = pool.submit(() -> {
            int i = 0;
            while (running.get()) {
                cluster.post(cluster.router().url() + "/steady" + i++ % 2000, "{\"value\":\"" + value + "\"}");
            }
            return null;
        });
        cluster.kill(replica);
        LocalCluster.Member restarted = cluster.restart(replica);
        // In sync as a replica: a node without its map yet is no replica and reports nothing to sync.
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            JsonNode s = status(restarted);
            return s.path("role").asText().equals("replica")
                    && s.path("synced").asBoolean()
                    && s.path("link").asText().equals("streaming");
        });
        running.set(false);
        writer.get();
        pool.shutdown();
        assertThat(status(restarted).path("fullSyncsReceived").asLong()).isEqualTo(1);
        assertThat(status(primary).path("fullSyncsServed").asLong() - servedBefore)
                .isEqualTo(1);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> status(restarted).path("keys").asLong()
                        == status(primary).path("keys").asLong());
    }
}
