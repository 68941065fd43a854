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
@Timeout(240)
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

    private void failoverUnderLoad(boolean freeze) throws Exception {
        cluster = new LocalCluster().start(1, 1);
        LocalCluster.Member old = primary();
        LocalCluster.Member replica = cluster.replicas("s1").get(0);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> status(replica).path("link").asText().equals("streaming"));
        Writer writer = new Writer(this, freeze ? "frozen-" : "killed-");
        Thread thread = Thread.ofPlatform().start(writer);
        await().atMost(Duration.ofSeconds(10)).until(() -> writer.acknowledged.size() > 200);

        long crashNanos = System.nanoTime();
        if (freeze) {
            cluster.freeze(old);
        } else {
            cluster.kill(old);
        }
        // Writes succeed again once the replica is promoted.
        await().atMost(Duration.ofSeconds(15))
                .until(() -> writer.lastFailureNanos.get() > crashNanos
                        && writer.acknowledged.values().stream().anyMatch(t -> t > writer.lastFailureNanos.get()));
        long recoveredMillis = (writer.lastFailureNanos.get() - crashNanos) / 1_000_000;
        await().atMost(Duration.ofSeconds(5)).until(() -> writer.acknowledged.size() > 400);
        writer.running.set(false);
        thread.join();

        List<String> lost = lost(writer);
        long windowMillis = 0;
        for (String key : lost) {
            windowMillis = Math.max(windowMillis, (crashNanos - writer.acknowledged.get(key)) / 1_000_000);
        }
        System.out.printf(
                "%s primary: writes failing for %d ms, %d failed writes, %d of %d acknowledged writes lost,"
                        + " the oldest acknowledged %d ms before the crash%n",
                freeze ? "frozen" : "killed",
                recoveredMillis,
                writer.failures.get(),
                lost.size(),
                writer.acknowledged.size(),
                windowMillis);
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
        assertThat(write("after-rejoin", "r")).isEqualTo(204);
        awaitValueOn(back, "after-rejoin", "r");
    }

    @Test
    void killedPrimary_isReplacedUnderLoad_losingOnlyTheReplicationWindow() throws Exception {
        failoverUnderLoad(false);
    }

    @Test
    void frozenPrimary_isReplacedUnderLoad_andRejoinsAsAReplica() throws Exception {
        failoverUnderLoad(true);
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
}
