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
 * Three shards as real processes, keys preloaded; a fourth shard is added and then removed while a
 * client keeps reading, overwriting and deleting. Every key ends with its latest value (or stays
 * deleted), no request fails, and the new shard takes close to a quarter of the keys.
 */
@Timeout(300)
class RebalancingIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int KEYS = 4_000;
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

    private void awaitMigrationDone() {
        await().atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> {
                    JsonNode m = JSON.readTree(
                                    cluster.admin("/admin/migrations").body())
                            .path("migrations");
                    return m.size() == 1 && m.get(0).path("state").asText().equals("done");
                });
    }

    @Test
    void addingThenRemovingAShardUnderLoad_keepsEveryKeysLatestValue() throws Exception {
        cluster = new LocalCluster().start(3, 0);
        // The latest value of every key, or null once deleted: what the cluster must answer.
        Map<String, String> expected = new ConcurrentHashMap<>();
        ExecutorService load = Executors.newFixedThreadPool(4);
        for (int t = 0; t < 4; t++) {
            int part = t;
            load.execute(() -> {
                for (int i = part; i < KEYS; i += 4) {
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
        assertThat(load.awaitTermination(120, TimeUnit.SECONDS)).isTrue();

        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong failures = new AtomicLong();
        java.util.Queue<String> failed = new java.util.concurrent.ConcurrentLinkedQueue<>();
        AtomicLong requests = new AtomicLong();
        Thread client = Thread.ofPlatform().start(() -> {
            java.util.Random random = new java.util.Random(1);
            for (int round = 1; running.get(); round++) {
                String key = "k" + random.nextInt(KEYS);
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
                        int status = cluster.send(HttpRequest.newBuilder(URI.create(url(key)))
                                        .DELETE())
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
        });

        LocalCluster.Member fourth = cluster.startNode("node-s4");
        cluster.awaitReady(java.util.List.of(fourth));
        HttpResponse<String> added =
                cluster.adminPost("/admin/shards", "{\"id\":\"s4\",\"primary\":\"" + fourth.address() + "\"}");
        assertThat(added.statusCode()).as(added.body()).isEqualTo(201);
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
        client.join();

        System.out.printf("%d requests during both migrations, %d failed%n", requests.get(), failures.get());
        failed.forEach(f -> System.out.println("failed: " + f));
        assertThat(failures.get())
                .as("failed requests:%n%s", String.join("\n", failed))
                .isZero();
        for (Map.Entry<String, String> entry : expected.entrySet()) {
            HttpResponse<String> got = cluster.get(url(entry.getKey()));
            if (entry.getValue().isEmpty()) {
                assertThat(got.statusCode())
                        .as(entry.getKey() + " stays deleted")
                        .isEqualTo(404);
            } else {
                assertThat(got.body()).as(entry.getKey()).contains("\"" + entry.getValue() + "\"");
            }
        }
    }
}
