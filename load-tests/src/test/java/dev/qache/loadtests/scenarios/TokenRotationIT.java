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
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 13: the admin, cluster and data tokens are all rotated on a running cluster (two shards
 * with a replica each, the router, the console) under load, by the procedure docs/API.md gives:
 * add the new token after the old everywhere, wait until every process has read it, switch the
 * clients, put the new one first, wait, remove the old, wait. Every call made meanwhile is
 * recorded with its outcome; none may fail, no failover may happen, and afterwards the old tokens
 * are refused everywhere.
 */
@Timeout(240)
class TokenRotationIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SETTING_RELOADS =
            Pattern.compile("qache_security_token_reloads_total\\{setting=\"([a-z.]+)\"[^}]*} ([0-9.]+)");
    private static final Pattern UI_RELOADS = Pattern.compile("\"reloads\":\\s*([0-9]+)");

    /** One recorded call: what, with which token, its status, when it started and ended. */
    record Op(String kind, String token, int status, String detail, long startNanos, long endNanos) {}

    @Test
    void rotatingEveryToken_underLoad_failsNoCall_andRetiresTheOldOnes() throws Exception {
        try (LocalCluster cluster = new LocalCluster().withDataTokens()) {
            cluster.start(2, 1);
            LocalCluster.Member ui = cluster.startAdminUi();
            String session = signIn(cluster, ui, LocalCluster.ADMIN_TOKEN);
            long epochBefore =
                    clusterView(cluster, LocalCluster.ADMIN_TOKEN).get("epoch").asLong();

            AtomicReference<String> dataToken = new AtomicReference<>(LocalCluster.DATA_TOKEN);
            AtomicReference<String> adminToken = new AtomicReference<>(LocalCluster.ADMIN_TOKEN);
            Queue<Op> history = new ConcurrentLinkedQueue<>();
            AtomicBoolean running = new AtomicBoolean(true);
            ExecutorService clients = Executors.newFixedThreadPool(4);
            List<Future<?>> workers = new ArrayList<>();
            for (int w = 0; w < 2; w++) {
                int worker = w;
                workers.add(clients.submit(() -> {
                    for (int i = 0; running.get(); i++) {
                        String key = "w" + worker + "-" + (i % 500);
                        String token = dataToken.get();
                        int expected = i;
                        record(
                                history,
                                "data-post",
                                token,
                                () -> cluster.send(request(cluster.router().url() + "/" + key, token)
                                        .header("Content-Type", "application/json")
                                        .POST(HttpRequest.BodyPublishers.ofString("{\"value\":" + expected + "}"))),
                                204);
                        record(
                                history,
                                "data-get",
                                token,
                                () -> cluster.send(request(cluster.router().url() + "/" + key, token)),
                                200,
                                body -> JSON.readTree(body).get("value").asInt() == expected);
                    }
                    return null;
                }));
            }
            workers.add(clients.submit(() -> {
                while (running.get()) {
                    String token = adminToken.get();
                    record(
                            history,
                            "admin",
                            token,
                            () -> cluster.send(request(cluster.router().url() + "/admin/cluster", token)),
                            200);
                }
                return null;
            }));
            workers.add(clients.submit(() -> {
                while (running.get()) {
                    // Each page of the console calls the router's admin API with the console's token.
                    record(
                            history,
                            "console",
                            "session",
                            () -> cluster.send(HttpRequest.newBuilder(URI.create(ui.url() + "/"))
                                    .header("Cookie", session)),
                            200,
                            body -> !body.contains("refused"));
                }
                return null;
            }));
            awaitCalls(history, 200);

            Map<String, String> rotated = Map.of(
                    "admin-token", "rotated-admin-token",
                    "cluster-token", "rotated-cluster-token",
                    "data-token", "rotated-data-token");
            Map<String, String> original = Map.of(
                    "admin-token", LocalCluster.ADMIN_TOKEN,
                    "cluster-token", LocalCluster.CLUSTER_TOKEN,
                    "data-token", LocalCluster.DATA_TOKEN);
            // 1. The new tokens are accepted everywhere; callers still send the old ones.
            for (String file : rotated.keySet()) {
                cluster.writeTokens(file, original.get(file) + "," + rotated.get(file));
            }
            awaitReloads(cluster, ui, 1);
            adminToken.set(rotated.get("admin-token"));
            dataToken.set(rotated.get("data-token"));
            awaitCalls(history, history.size() + 100);
            // 2. The new tokens first: the router, the nodes and the console send them.
            for (String file : rotated.keySet()) {
                cluster.writeTokens(file, rotated.get(file) + "," + original.get(file));
            }
            awaitReloads(cluster, ui, 2);
            awaitCalls(history, history.size() + 100);
            // 3. The old tokens removed.
            for (String file : rotated.keySet()) {
                cluster.writeTokens(file, rotated.get(file));
            }
            awaitReloads(cluster, ui, 3);
            awaitCalls(history, history.size() + 200);

            running.set(false);
            for (Future<?> worker : workers) {
                worker.get(30, TimeUnit.SECONDS);
            }
            clients.shutdown();

            List<Op> failed =
                    history.stream().filter(op -> !op.detail().isEmpty()).toList();
            System.out.printf(
                    "token rotation: %d calls recorded (%s), %d failed%n",
                    history.size(),
                    history.stream()
                            .collect(java.util.stream.Collectors.groupingBy(
                                    Op::kind, java.util.stream.Collectors.counting())),
                    failed.size());
            assertThat(failed).as("calls that failed during the rotation").isEmpty();
            assertThat(history.stream()
                            .filter(op -> op.token().startsWith("rotated"))
                            .count())
                    .as("calls made with the new tokens")
                    .isGreaterThan(100);

            // No node was taken for dead: the epoch did not move and every node is up.
            JsonNode view = clusterView(cluster, rotated.get("admin-token"));
            assertThat(view.get("epoch").asLong()).isEqualTo(epochBefore);
            for (JsonNode shard : view.get("shards")) {
                for (JsonNode node : shard.get("nodes")) {
                    assertThat(node.get("health").asText()).as(node.toString()).isEqualTo("up");
                }
            }

            // The old tokens are refused everywhere, the new ones taken.
            String router = cluster.router().url();
            assertThat(cluster.send(request(router + "/k", LocalCluster.DATA_TOKEN))
                            .statusCode())
                    .isEqualTo(401);
            assertThat(cluster.send(request(router + "/admin/cluster", LocalCluster.ADMIN_TOKEN))
                            .statusCode())
                    .isEqualTo(401);
            LocalCluster.Member node = cluster.nodes().get("s1");
            assertThat(cluster.send(request(node.url() + "/_internal/status", LocalCluster.CLUSTER_TOKEN))
                            .statusCode())
                    .isEqualTo(401);
            assertThat(cluster.send(request(node.url() + "/_internal/status", rotated.get("cluster-token")))
                            .statusCode())
                    .isEqualTo(200);
            assertThat(signInStatus(cluster, ui, LocalCluster.ADMIN_TOKEN)).isEqualTo(401);
        }
    }

    private interface Call {
        HttpResponse<String> send() throws Exception;
    }

    private interface BodyCheck {
        boolean ok(String body) throws Exception;
    }

    private static void record(Queue<Op> history, String kind, String token, Call call, int expected) {
        record(history, kind, token, call, expected, body -> true);
    }

    private static void record(Queue<Op> history, String kind, String token, Call call, int expected, BodyCheck check) {
        long start = System.nanoTime();
        int status = -1;
        String detail;
        try {
            HttpResponse<String> response = call.send();
            status = response.statusCode();
            detail = status != expected
                    ? "status " + status + ": " + response.body()
                    : check.ok(response.body()) ? "" : "unexpected body: " + response.body();
        } catch (Exception e) {
            detail = "no answer: " + e;
        }
        history.add(new Op(kind, token, status, detail, start, System.nanoTime()));
    }

    private static HttpRequest.Builder request(String url, String token) {
        return HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + token);
    }

    private static void awaitCalls(Queue<Op> history, int count) {
        await().atMost(Duration.ofSeconds(60)).until(() -> history.size() >= count);
    }

    /** Until every process has read its token files {@code times} times since it started. */
    private static void awaitReloads(LocalCluster cluster, LocalCluster.Member ui, int times) {
        List<LocalCluster.Member> servers = new ArrayList<>(cluster.nodes().values());
        cluster.nodes().keySet().forEach(shard -> servers.addAll(cluster.replicas(shard)));
        servers.add(cluster.router());
        await().atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> {
                    for (LocalCluster.Member server : servers) {
                        Matcher m = SETTING_RELOADS.matcher(
                                cluster.get(server.url() + "/q/metrics").body());
                        int settings = 0;
                        while (m.find()) {
                            settings++;
                            if (Double.parseDouble(m.group(2)) < times) {
                                return false;
                            }
                        }
                        if (settings < 2) { // a node has cluster and data tokens, the router admin too
                            return false;
                        }
                    }
                    Matcher m = UI_RELOADS.matcher(
                            cluster.get(ui.url() + "/q/health/ready").body());
                    return m.find() && Integer.parseInt(m.group(1)) >= times;
                });
    }

    private static JsonNode clusterView(LocalCluster cluster, String token) throws Exception {
        HttpResponse<String> response = cluster.send(request(cluster.router().url() + "/admin/cluster", token));
        assertThat(response.statusCode()).isEqualTo(200);
        return JSON.readTree(response.body());
    }

    private static int signInStatus(LocalCluster cluster, LocalCluster.Member ui, String token) throws Exception {
        return cluster.send(HttpRequest.newBuilder(URI.create(ui.url() + "/signin"))
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .POST(HttpRequest.BodyPublishers.ofString("token=" + token)))
                .statusCode();
    }

    /** Signs in to the console and returns the session cookie ({@code name=value}). */
    private static String signIn(LocalCluster cluster, LocalCluster.Member ui, String token) throws Exception {
        HttpResponse<String> response = cluster.send(HttpRequest.newBuilder(URI.create(ui.url() + "/signin"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("token=" + token)));
        assertThat(response.statusCode()).isEqualTo(303);
        return response.headers().firstValue("Set-Cookie").orElseThrow().split(";", 2)[0];
    }
}
