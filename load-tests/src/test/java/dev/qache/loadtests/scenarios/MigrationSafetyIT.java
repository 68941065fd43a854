package dev.qache.loadtests.scenarios;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Real processes. Keys changed on a migration's target while their slots are still being copied
 * (overwritten with a TTL shorter than the migration, or evicted under memory pressure) never
 * serve the value they replaced: neither while the slots are in flight (the router must not fall
 * back to the source for them) nor after the cut-over (the copy must not bring the old value back).
 */
@Timeout(300)
class MigrationSafetyIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One slot copied at a time within 256 KB/s: a migration of a few MB takes seconds. */
    private static final String[] THROTTLED = {
        "-Dqache.router.migration.slots-in-flight=1", "-Dqache.router.migration.rate=256K"
    };

    private LocalCluster cluster;

    @AfterEach
    void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    private String url(String key) {
        return cluster.router().url() + "/" + key;
    }

    /** 16 KB values that name their key. */
    private static String oldValue(int i) {
        return ("old-" + i + "-").repeat(4_000).substring(0, 16_000);
    }

    private JsonNode migration() throws Exception {
        JsonNode m = JSON.readTree(cluster.admin("/admin/migrations").body()).path("migrations");
        assertThat(m.size()).isEqualTo(1);
        return m.get(0);
    }

    private void awaitMigrationDone() {
        cluster.awaitMigrationDone(Duration.ofSeconds(120), "the one migration");
    }

    private void preload(int keys) throws Exception {
        for (int i = 0; i < keys; i++) {
            assertThat(cluster.post(url("b" + i), "{\"value\":\"" + oldValue(i) + "\"}")
                            .statusCode())
                    .isEqualTo(204);
        }
    }

    private LocalCluster.Member addFourthShard(String... nodeOptions) throws Exception {
        LocalCluster.Member fourth = cluster.startNode("node-s4", LocalCluster.freePort(), nodeOptions);
        cluster.awaitReady(List.of(fourth));
        HttpResponse<String> added =
                cluster.adminPost("/admin/shards", "{\"id\":\"s4\",\"primary\":\"" + fourth.address() + "\"}");
        assertThat(added.statusCode()).as(added.body()).isEqualTo(201);
        return fourth;
    }

    /** Starts the fourth shard's primary and replica and adds the shard: the migration starts. */
    private List<LocalCluster.Member> addFourthShardWithReplica() throws Exception {
        LocalCluster.Member primary = cluster.startNode("node-s4");
        LocalCluster.Member replica = cluster.startNode("node-s4-r1");
        cluster.awaitReady(List.of(primary, replica));
        HttpResponse<String> added = cluster.adminPost(
                "/admin/shards",
                "{\"id\":\"s4\",\"primary\":\"" + primary.address() + "\",\"replicas\":[\"" + replica.address()
                        + "\"]}");
        assertThat(added.statusCode()).as(added.body()).isEqualTo(201);
        return List.of(primary, replica);
    }

    /** Every key that answers with a value it no longer has: its old value. */
    private List<String> oldValuesServed(int keys, String allowed) throws Exception {
        List<String> wrong = new ArrayList<>();
        for (int i = 0; i < keys; i++) {
            HttpResponse<String> got = cluster.get(url("b" + i));
            if (got.statusCode() == 200 && !got.body().contains(allowed.replace("{i}", Integer.toString(i)))) {
                wrong.add("b" + i + ": "
                        + got.body().substring(0, Math.min(40, got.body().length())));
            } else if (got.statusCode() != 200 && got.statusCode() != 404) {
                wrong.add("b" + i + ": " + got.statusCode() + " " + got.body());
            }
        }
        return wrong;
    }

    @Test
    void keysOverwrittenWithAShortTtlWhileTheirSlotsMigrate_neverServeTheOldValue() throws Exception {
        int keys = 1_200;
        cluster = new LocalCluster().start(3, 0, THROTTLED);
        preload(keys);
        addFourthShard();
        for (int i = 0; i < keys; i++) {
            assertThat(cluster.post(url("b" + i), "{\"value\":\"new\",\"ttl\":1}")
                            .statusCode())
                    .isEqualTo(204);
        }
        long overwrittenAt = System.nanoTime();
        // The TTL is a time, not a condition: wait until it has surely passed on every node.
        await().pollDelay(Duration.ofMillis(1_500)).until(() -> true);

        List<String> during = oldValuesServed(keys, "\"never\"");
        JsonNode progress = migration();
        System.out.printf(
                "read %d ms after the overwrites with %d of %d slots copied: %d old values%n",
                (System.nanoTime() - overwrittenAt) / 1_000_000,
                progress.path("slotsDone").asInt(),
                progress.path("slotsTotal").asInt(),
                during.size());
        assertThat(progress.path("state").asText())
                .as("the reads were made while the migration ran")
                .isEqualTo("streaming");
        assertThat(during).as("old values served while the slots migrate").isEmpty();

        awaitMigrationDone();
        assertThat(oldValuesServed(keys, "\"never\""))
                .as("old values served after the cut-over")
                .isEmpty();
    }

    @Test
    void keysEvictedOnTheTargetWhileTheirSlotsMigrate_neverServeTheOldValue() throws Exception {
        int keys = 600;
        cluster = new LocalCluster().start(3, 0, THROTTLED);
        preload(keys);
        // A target with room for about 2 MB: the new values and the copy evict each other.
        LocalCluster.Member fourth = addFourthShard("-Dqache.node.memory-limit=2M");
        for (int i = 0; i < keys; i++) {
            String value = ("new-" + i + "-").repeat(4_000).substring(0, 16_000);
            assertThat(cluster.post(url("b" + i), "{\"value\":\"" + value + "\"}")
                            .statusCode())
                    .isEqualTo(204);
        }
        List<String> during = oldValuesServed(keys, "\"new-{i}-");
        JsonNode progress = migration();
        assertThat(progress.path("state").asText()).isEqualTo("streaming");
        assertThat(during).as("old values served while the slots migrate").isEmpty();

        awaitMigrationDone();
        long evicted = evictions(fourth);
        System.out.printf("the target evicted %d entries%n", evicted);
        assertThat(evicted).as("the target was under memory pressure").isPositive();
        assertThat(oldValuesServed(keys, "\"new-{i}-"))
                .as("old values served after the cut-over")
                .isEmpty();
    }

    /**
     * The target primary dies right after the cut-over: its replica, promoted, holds every key the
     * sources dropped. The replica is frozen (SIGSTOP) half-way through the copy, so it falls
     * behind the imports; the router is told to call a node down only after 100 failed probes, so
     * the frozen replica still counts as one that could be promoted. A cut-over that did not wait
     * for it would flip the map while it lacks the last imports; killing the primary at once then
     * loses them.
     */
    @Test
    void targetPrimaryKilledRightAfterTheCutOver_losesNoKeyTheSourcesHeld() throws Exception {
        int keys = 20_000;
        cluster = new LocalCluster()
                .start(
                        3,
                        0,
                        "-Dqache.router.migration.slots-in-flight=1",
                        "-Dqache.router.migration.rate=1M",
                        "-Dqache.router.failover.failure-threshold=100");
        String value = "v".repeat(1_000);
        for (int i = 0; i < keys; i++) {
            assertThat(cluster.post(url("k" + i), "{\"value\":\"" + value + i + "\"}")
                            .statusCode())
                    .isEqualTo(204);
        }
        List<LocalCluster.Member> fourth = addFourthShardWithReplica();
        LocalCluster.Member primary = fourth.get(0);
        LocalCluster.Member replica = fourth.get(1);
        await().atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(20))
                .ignoreExceptions()
                .until(() -> migration().path("slotsDone").asInt()
                        >= migration().path("slotsTotal").asInt() / 2);
        cluster.freeze(replica);
        // The copy is over: the map flips, or the router says it waits for the replica.
        await().atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(20))
                .ignoreExceptions()
                .until(() -> migration().path("state").asText().equals("done")
                        || migration().path("reason").asText().startsWith("waiting for replicas"));
        String state = migration().path("state").asText();
        System.out.printf(
                "copy finished with the replica frozen: %s (%s)%n",
                state, migration().path("reason"));
        if (!state.equals("done")) {
            cluster.resume(replica);
            awaitMigrationDone();
            cluster.kill(primary);
        } else {
            cluster.kill(primary);
            cluster.resume(replica);
        }
        await().atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(100))
                .ignoreExceptions()
                .until(() -> cluster.admin("/admin/cluster")
                        .body()
                        .contains("\"address\":\"" + replica.address() + "\",\"role\":\"primary\""));
        List<String> lost = new ArrayList<>();
        for (int i = 0; i < keys; i++) {
            HttpResponse<String> got = cluster.get(url("k" + i));
            if (got.statusCode() != 200 || !got.body().contains(value + i + "\"")) {
                lost.add("k" + i + ": " + got.statusCode());
            }
        }
        System.out.printf("after the target's failover: %d of %d keys lost%n", lost.size(), keys);
        assertThat(lost).as("keys written long before the migration").isEmpty();
    }

    /**
     * A replica of the target that does a full sync in the middle of the import, then is promoted:
     * the snapshot carries the store, not the record of keys removed on the old primary, so the
     * primary sends that record too ('M' frames); without it the copy that follows the promotion
     * would bring back the old values of keys that were overwritten with a short TTL and expired.
     */
    @Test
    void aTargetReplicaThatResyncsMidImport_thenPromoted_neverServesTheOldValue() throws Exception {
        int keys = 1_200;
        cluster = new LocalCluster().start(3, 0, THROTTLED);
        preload(keys);
        List<LocalCluster.Member> fourth = addFourthShardWithReplica();
        LocalCluster.Member primary = fourth.get(0);
        LocalCluster.Member replica = fourth.get(1);
        for (int i = 0; i < keys; i++) {
            assertThat(cluster.post(url("b" + i), "{\"value\":\"new\",\"ttl\":1}")
                            .statusCode())
                    .isEqualTo(204);
        }
        // The TTL is a time, not a condition: wait until it has surely passed.
        await().pollDelay(Duration.ofMillis(1_500)).until(() -> true);
        cluster.kill(replica);
        LocalCluster.Member again = cluster.restart(replica);
        // Synced as a replica: a node just started, before its first map, has no role and calls
        // itself synced (it lacks nothing it should have), and killing the primary then would
        // leave no replica that may take over.
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
            JsonNode status = JSON.readTree(cluster.status(again).body());
            return status.path("role").asText().equals("replica")
                    && status.path("synced").asBoolean();
        });
        assertThat(migration().path("state").asText())
                .as("the replica resynced while the slots were copied")
                .isEqualTo("streaming");
        cluster.kill(primary);
        await().atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(100))
                .ignoreExceptions()
                .until(() -> cluster.admin("/admin/cluster")
                        .body()
                        .contains("\"address\":\"" + again.address() + "\",\"role\":\"primary\""));
        awaitMigrationDone();
        assertThat(oldValuesServed(keys, "\"never\""))
                .as("old values served after the promoted replica's copy")
                .isEmpty();
    }

    private long evictions(LocalCluster.Member node) throws Exception {
        String metrics = cluster.get(node.url() + "/q/metrics").body();
        for (String line : metrics.split("\n")) {
            if (line.startsWith("qache_evictions_total")) {
                return (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new IllegalStateException("no eviction counter in the node's metrics");
    }
}
