package dev.qache.loadtests.scenarios;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Real processes. Three shards holding 200k keys; a fourth is added and then removed while four
 * clients keep reading, overwriting and deleting: every key ends with its latest value (or stays
 * deleted), no request fails, and the new shard takes its share of the keys. Keys overwritten or
 * deleted while their slots are copied keep that state. A source primary killed mid-migration is
 * failed over and the migration completes with no failed read.
 */
@Timeout(300)
class RebalancingIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Router options: one slot copied at a time, within 256 KB/s. */
    private static final String[] THROTTLED = {
        "-Dqache.router.migration.slots-in-flight=1", "-Dqache.router.migration.rate=256K"
    };
    /** Keys preloaded for the test under load: 200k as the issue asks; -Dqache.rebalance.keys for more or fewer. */
    private static final int KEYS = Integer.getInteger("qache.rebalance.keys", 200_000);

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

    /**
     * Two minutes, as the other migration tests: a failover of a target shard starts its copies
     * again (Migration.primaryChanged), 4,096 slots one at a time, which took 20.6-22.5 s after the
     * kill on an idle 2-core machine and more than the 60 s this waited before in one CI run.
     */
    private void awaitMigrationDone() {
        cluster.awaitMigrationDone(Duration.ofSeconds(120), "the one migration");
    }

    @Test
    void addingThenRemovingAShardUnderLoad_keepsEveryKeysLatestValue() throws Exception {
        cluster = new LocalCluster().start(3, 0);
        // The latest value of every key, or null once deleted: what the cluster must answer.
        Map<String, String> expected = new ConcurrentHashMap<>();
        ExecutorService load = Executors.newFixedThreadPool(8);
        for (int t = 0; t < 8; t++) {
            int part = t;
            load.execute(() -> {
                for (int i = part; i < KEYS; i += 8) {
                    try {
                        assertThat(cluster.post(url("k" + i), "{\"value\":\"v0-" + i + "\"}")
                                        .statusCode())
                                .isEqualTo(204);
                        expected.put("k" + i, "v0-" + i);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
            });
        }
        load.shutdown();
        assertThat(load.awaitTermination(240, TimeUnit.SECONDS)).isTrue();

        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong failures = new AtomicLong();
        java.util.Queue<String> failed = new java.util.concurrent.ConcurrentLinkedQueue<>();
        AtomicLong requests = new AtomicLong();
        // Four clients, each on its own quarter of the keys, so each key has one writer and its
        // latest value is known.
        java.util.List<Thread> clients = new java.util.ArrayList<>();
        for (int c = 0; c < 4; c++) {
            int client = c;
            clients.add(
                    Thread.ofPlatform().start(() -> clientLoop(client, running, expected, requests, failures, failed)));
        }

        LocalCluster.Member fourth = cluster.startNode("node-s4");
        cluster.awaitReady(java.util.List.of(fourth));
        HttpResponse<String> added =
                cluster.adminPost("/admin/shards", "{\"id\":\"s4\",\"primary\":\"" + fourth.address() + "\"}");
        assertThat(added.statusCode()).as(added.body()).isEqualTo(201);
        // Writes of the slots moving to s4 go to it once the map naming it is published: that map
        // reached it with a write lease before (CI: they failed write-lease-lapsed until its probes).
        JsonNode fourthStatus = JSON.readTree(cluster.status(fourth).body());
        assertThat(fourthStatus.path("epoch").asLong())
                .isEqualTo(JSON.readTree(added.body()).path("epoch").asLong());
        // Granted, not necessarily still running: probes renew it every 100 ms, but on a starved
        // machine a renewal can come after the 600 ms it lasts (CI: 0 ms left at this read); a write it
        // refuses write-lease-lapsed meanwhile is routed again, and the clients' failures count it.
        assertThat(fourthStatus.path("leaseGranted").asBoolean())
                .as(
                        "s4's write lease as the map naming it is published (%d ms left)",
                        fourthStatus.path("leaseRemainingMillis").asLong())
                .isTrue();
        awaitMigrationDone();
        JsonNode view = JSON.readTree(cluster.admin("/admin/cluster").body());
        int s4Slots = 0;
        for (JsonNode shard : view.path("shards")) {
            if (shard.path("id").asText().equals("s4")) {
                s4Slots = shard.path("slots").asInt();
            }
        }
        assertThat(s4Slots).isBetween(16384 / 4 - 1, 16384 / 4 + 1);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> JSON.readTree(cluster.status(fourth).body())
                                .path("keys")
                                .asLong()
                        > 0);
        long onFourth =
                JSON.readTree(cluster.status(fourth).body()).path("keys").asLong();
        long live = expected.values().stream().filter(v -> !v.isEmpty()).count();
        System.out.printf("added s4: %d of %d live keys moved to it (ideal %.0f)%n", onFourth, live, live / 4.0);
        assertThat((double) onFourth).isBetween(live / 4.0 * 0.9, live / 4.0 * 1.1);

        HttpResponse<String> removed =
                cluster.send(HttpRequest.newBuilder(URI.create(cluster.router().url() + "/admin/shards/s4"))
                        .header("Authorization", "Bearer " + LocalCluster.ADMIN_TOKEN)
                        .DELETE());
        assertThat(removed.statusCode()).as(removed.body()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            JsonNode m =
                    JSON.readTree(cluster.admin("/admin/migrations").body()).path("migrations");
            return m.get(0).path("state").asText().equals("done")
                    && !cluster.admin("/admin/cluster").body().contains("\"s4\"");
        });
        running.set(false);
        for (Thread client : clients) {
            client.join();
        }

        System.out.printf("%d requests during both migrations, %d failed%n", requests.get(), failures.get());
        failed.forEach(f -> System.out.println("failed: " + f));
        assertThat(failures.get())
                .as("failed requests:%n%s", String.join("\n", failed))
                .isZero();
        // Every key, read back by 8 threads: its latest value, or 404 once deleted.
        java.util.List<Map.Entry<String, String>> all = new java.util.ArrayList<>(expected.entrySet());
        java.util.Queue<String> wrong = new java.util.concurrent.ConcurrentLinkedQueue<>();
        ExecutorService check = Executors.newFixedThreadPool(8);
        for (int t = 0; t < 8; t++) {
            int part = t;
            check.execute(() -> {
                for (int i = part; i < all.size(); i += 8) {
                    Map.Entry<String, String> entry = all.get(i);
                    try {
                        HttpResponse<String> got = cluster.get(url(entry.getKey()));
                        boolean ok = entry.getValue().isEmpty()
                                ? got.statusCode() == 404
                                : got.statusCode() == 200 && got.body().contains("\"" + entry.getValue() + "\"");
                        if (!ok) {
                            wrong.add(entry.getKey() + " wanted '" + entry.getValue() + "': " + got.statusCode());
                        }
                    } catch (Exception e) {
                        wrong.add(entry.getKey() + ": " + e);
                    }
                }
            });
        }
        check.shutdown();
        assertThat(check.awaitTermination(240, TimeUnit.SECONDS)).isTrue();
        assertThat(wrong).as("keys without their latest value").isEmpty();
    }

    /** 80% GET, 10% SET, 10% DELETE of the keys {@code k<i>} with {@code i % 4 == client}. */
    private void clientLoop(
            int client,
            AtomicBoolean running,
            Map<String, String> expected,
            AtomicLong requests,
            AtomicLong failures,
            java.util.Queue<String> failed) {
        java.util.Random random = new java.util.Random(client);
        for (int round = 1; running.get(); round++) {
            String key = "k" + (random.nextInt(KEYS / 4) * 4 + client);
            try {
                requests.incrementAndGet();
                int op = random.nextInt(10);
                if (op == 0) {
                    String value = "v" + round + "-" + key;
                    HttpResponse<String> r = cluster.post(url(key), "{\"value\":\"" + value + "\"}");
                    if (r.statusCode() == 204) {
                        expected.put(key, value);
                    } else {
                        failures.incrementAndGet();
                        failed.add("POST " + key + ": " + r.statusCode() + " " + r.body());
                    }
                } else if (op == 1) {
                    int status = cluster.send(
                                    HttpRequest.newBuilder(URI.create(url(key))).DELETE())
                            .statusCode();
                    if (status == 204 || status == 404) {
                        expected.put(key, "");
                    } else {
                        failures.incrementAndGet();
                        failed.add("DELETE " + key + ": " + status);
                    }
                } else {
                    HttpResponse<String> got = cluster.get(url(key));
                    String want = expected.get(key);
                    boolean ok = want.isEmpty()
                            ? got.statusCode() == 404
                            : got.statusCode() == 200 && got.body().contains("\"" + want + "\"");
                    if (!ok) {
                        failures.incrementAndGet();
                        failed.add("GET " + key + " wanted '" + want + "': " + got.statusCode() + " " + got.body());
                    }
                }
            } catch (Exception e) {
                failures.incrementAndGet();
                failed.add(key + ": " + e);
            }
        }
    }

    /** The one migration's progress as {@code GET /admin/migrations} reports it. */
    private JsonNode migration() throws Exception {
        JsonNode m = JSON.readTree(cluster.admin("/admin/migrations").body()).path("migrations");
        assertThat(m.size()).isEqualTo(1);
        return m.get(0);
    }

    /** 16 KB values: with the copy throttled to 256 KB/s, a migration then takes seconds. */
    private static String bigValue(int i) {
        return ("v0-" + i + "-").repeat(4_000).substring(0, 16_000);
    }

    /** Three shards, a copy of one slot at a time within 256 KB/s, and {@code keys} 16 KB values. */
    private void startThrottledWithBigKeys(int replicas, int keys) throws Exception {
        cluster = new LocalCluster().start(3, replicas, THROTTLED);
        preloadBig(keys);
    }

    private void preloadBig(int keys) throws Exception {
        for (int i = 0; i < keys; i++) {
            assertThat(cluster.post(url("b" + i), "{\"value\":\"" + bigValue(i) + "\"}")
                            .statusCode())
                    .isEqualTo(204);
        }
    }

    private LocalCluster.Member addFourthShard() throws Exception {
        return addFourthShard(false).get(0);
    }

    /** Starts the fourth shard's primary (and a replica) and adds the shard: the migration starts. */
    private java.util.List<LocalCluster.Member> addFourthShard(boolean withReplica) throws Exception {
        java.util.List<LocalCluster.Member> members = new java.util.ArrayList<>();
        members.add(cluster.startNode("node-s4"));
        if (withReplica) {
            members.add(cluster.startNode("node-s4-r1"));
        }
        cluster.awaitReady(members);
        String replicas = withReplica ? "\"" + members.get(1).address() + "\"" : "";
        HttpResponse<String> added = cluster.adminPost(
                "/admin/shards",
                "{\"id\":\"s4\",\"primary\":\"" + members.get(0).address() + "\",\"replicas\":[" + replicas + "]}");
        assertThat(added.statusCode()).as(added.body()).isEqualTo(201);
        return members;
    }

    @Test
    void keysOverwrittenOrDeletedWhileTheirSlotsAreCopied_keepTheNewState() throws Exception {
        int keys = 400;
        startThrottledWithBigKeys(0, keys);

        LocalCluster.Member fourth = addFourthShard();
        // While the slots are copied: a quarter of the keys overwritten, a quarter deleted. Each
        // change is visible at once, whether its slot is copied yet or not.
        for (int i = 0; i < keys; i++) {
            String key = "b" + i;
            if (i % 4 == 0) {
                assertThat(cluster.post(url(key), "{\"value\":\"new-" + i + "\"}")
                                .statusCode())
                        .isEqualTo(204);
                assertThat(cluster.get(url(key)).body()).contains("\"new-" + i + "\"");
            } else if (i % 4 == 1) {
                assertThat(cluster.send(HttpRequest.newBuilder(URI.create(url(key)))
                                        .DELETE())
                                .statusCode())
                        .isEqualTo(204);
                assertThat(cluster.get(url(key)).statusCode()).isEqualTo(404);
            }
        }
        JsonNode during = migration();
        System.out.printf(
                "changes made with %d of %d slots copied%n",
                during.path("slotsDone").asInt(), during.path("slotsTotal").asInt());
        assertThat(during.path("state").asText())
                .as("the changes were made while the migration ran")
                .isEqualTo("streaming");

        awaitMigrationDone();
        assertThat(JSON.readTree(cluster.status(fourth).body()).path("keys").asLong())
                .isPositive();
        for (int i = 0; i < keys; i++) {
            HttpResponse<String> got = cluster.get(url("b" + i));
            switch (i % 4) {
                case 0 ->
                    assertThat(got.body()).as("b%d keeps its newer value", i).contains("\"new-" + i + "\"");
                case 1 ->
                    assertThat(got.statusCode()).as("b%d stays deleted", i).isEqualTo(404);
                default -> assertThat(got.body()).as("b%d", i).contains(bigValue(i));
            }
        }
    }

    @Test
    void sourcePrimaryKilledMidMigration_failsOverAndTheMigrationCompletes() throws Exception {
        primaryKilledMidMigration(false);
    }

    @Test
    void targetPrimaryKilledMidMigration_failsOverAndTheMigrationCompletes() throws Exception {
        primaryKilledMidMigration(true);
    }

    /**
     * SIGKILL of the primary of a source shard (s1) or of the target (s4) while slots are copied:
     * its replica is promoted, the migration completes, no read fails, every key is there.
     */
    private void primaryKilledMidMigration(boolean target) throws Exception {
        int keys = 400;
        startThrottledWithBigKeys(1, keys);
        // Every write has reached the replicas: nothing is in the replication window at the kill.
        for (String shard : java.util.List.of("s1", "s2", "s3")) {
            long onPrimary = JSON.readTree(
                            cluster.status(cluster.nodes().get(shard)).body())
                    .path("keys")
                    .asLong();
            await().atMost(Duration.ofSeconds(20))
                    .until(() ->
                            JSON.readTree(cluster.status(cluster.replicas(shard).get(0))
                                                    .body())
                                            .path("keys")
                                            .asLong()
                                    == onPrimary);
        }

        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong reads = new AtomicLong();
        java.util.Queue<String> failed = new java.util.concurrent.ConcurrentLinkedQueue<>();
        Thread reader = Thread.ofPlatform().start(() -> {
            java.util.Random random = new java.util.Random(2);
            while (running.get()) {
                int i = random.nextInt(keys);
                try {
                    HttpResponse<String> got = cluster.get(url("b" + i));
                    reads.incrementAndGet();
                    if (got.statusCode() != 200 || !got.body().contains(bigValue(i))) {
                        failed.add("GET b" + i + ": " + got.statusCode() + " " + got.body());
                    }
                } catch (Exception e) {
                    failed.add("GET b" + i + ": " + e);
                }
            }
        });

        java.util.List<LocalCluster.Member> fourth = addFourthShard(target);
        await().atMost(Duration.ofSeconds(30))
                .ignoreExceptions()
                .until(() -> migration().path("slotsDone").asInt() >= 200);
        String shardId = target ? "s4" : "s1";
        LocalCluster.Member victim = target ? fourth.get(0) : cluster.nodes().get("s1");
        String replica =
                target ? fourth.get(1).address() : cluster.replicas("s1").get(0).address();
        cluster.kill(victim);
        long killedAt = System.nanoTime();

        awaitMigrationDone();
        System.out.printf(
                "%s primary killed: migration done %d ms later%n",
                target ? "target" : "source", (System.nanoTime() - killedAt) / 1_000_000);
        running.set(false);
        reader.join();

        JsonNode view = JSON.readTree(cluster.admin("/admin/cluster").body());
        for (JsonNode shard : view.path("shards")) {
            if (shard.path("id").asText().equals(shardId)) {
                JsonNode first = shard.path("nodes").get(0);
                assertThat(first.path("address").asText())
                        .as("the replica was promoted")
                        .isEqualTo(replica);
                assertThat(first.path("role").asText()).isEqualTo("primary");
            }
            if (shard.path("id").asText().equals("s4")) {
                assertThat(shard.path("slots").asInt()).isBetween(16384 / 4 - 1, 16384 / 4 + 1);
            }
        }
        System.out.printf("%d reads during the migration and the failover, %d failed%n", reads.get(), failed.size());
        assertThat(failed).as("failed reads").isEmpty();
        for (int i = 0; i < keys; i++) {
            assertThat(cluster.get(url("b" + i)).body()).as("b%d", i).contains(bigValue(i));
        }
    }

    @Test
    void routerKilledMidMigration_resumesWhenRestarted() throws Exception {
        int keys = 400;
        startThrottledWithBigKeys(0, keys);
        addFourthShard();
        // Overwrites before and after the router's restart: both must survive the copy.
        for (int i = 0; i < keys; i += 8) {
            assertThat(cluster.post(url("b" + i), "{\"value\":\"before-" + i + "\"}")
                            .statusCode())
                    .isEqualTo(204);
        }
        await().atMost(Duration.ofSeconds(30))
                .ignoreExceptions()
                .until(() -> migration().path("slotsDone").asInt() >= 200);
        long epoch = JSON.readTree(cluster.admin("/admin/cluster").body())
                .path("epoch")
                .asLong();
        cluster.kill(cluster.router());
        cluster.startRouter(THROTTLED);

        assertThat(JSON.readTree(cluster.admin("/admin/cluster").body())
                        .path("epoch")
                        .asLong())
                .as("the restarted router has the migrating map")
                .isEqualTo(epoch);
        for (int i = 4; i < keys; i += 8) {
            assertThat(cluster.post(url("b" + i), "{\"value\":\"after-" + i + "\"}")
                            .statusCode())
                    .isEqualTo(204);
        }
        awaitMigrationDone();
        for (int i = 0; i < keys; i++) {
            String body = cluster.get(url("b" + i)).body();
            switch (i % 8) {
                case 0 -> assertThat(body).as("b%d", i).contains("\"before-" + i + "\"");
                case 4 -> assertThat(body).as("b%d", i).contains("\"after-" + i + "\"");
                default -> assertThat(body).as("b%d", i).contains(bigValue(i));
            }
        }
    }

    @Test
    void aRemovedNodeAddedAgain_servesTheLatestValues_notWhatItHeldBefore() throws Exception {
        int keys = 400;
        cluster = new LocalCluster().start(3, 0);
        preloadBig(keys);
        LocalCluster.Member fourth = addFourthShard();
        awaitMigrationDone();
        HttpResponse<String> removed =
                cluster.send(HttpRequest.newBuilder(URI.create(cluster.router().url() + "/admin/shards/s4"))
                        .header("Authorization", "Bearer " + LocalCluster.ADMIN_TOKEN)
                        .DELETE());
        assertThat(removed.statusCode()).as(removed.body()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(60))
                .until(() -> !cluster.admin("/admin/cluster").body().contains("\"s4\""));
        // The removed node is told it left: it drops what it held.
        await().atMost(Duration.ofSeconds(10))
                .until(() -> JSON.readTree(cluster.status(fourth).body())
                                .path("keys")
                                .asLong()
                        == 0);

        // Every key changes while s4 is out; then the same node joins again.
        for (int i = 0; i < keys; i++) {
            assertThat(cluster.post(url("b" + i), "{\"value\":\"again-" + i + "\"}")
                            .statusCode())
                    .isEqualTo(204);
        }
        HttpResponse<String> added =
                cluster.adminPost("/admin/shards", "{\"id\":\"s4\",\"primary\":\"" + fourth.address() + "\"}");
        assertThat(added.statusCode()).as(added.body()).isEqualTo(201);
        await().atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> migration().path("state").asText().equals("done")
                        && migration().path("slotsTotal").asInt() > 0
                        && JSON.readTree(cluster.admin("/admin/cluster").body())
                                        .path("epoch")
                                        .asLong()
                                > 6); // 7: the re-add committed
        for (int i = 0; i < keys; i++) {
            assertThat(cluster.get(url("b" + i)).body()).as("b%d", i).contains("\"again-" + i + "\"");
        }
    }
}
