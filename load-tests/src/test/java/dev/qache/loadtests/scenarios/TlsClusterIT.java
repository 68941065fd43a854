package dev.qache.loadtests.scenarios;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 13: the whole cluster over TLS, as {@code ./qache up --tls} runs it. Client traffic to the
 * router, router-to-node calls (probes, map pushes, forwarded calls), replication (WSS) and slot
 * transfer all run over TLS with certificates from {@code ./qache certs}; a failover and a
 * migration complete, no acknowledged write is lost, a renewed certificate is served without a
 * restart, and plain HTTP is not answered at all.
 */
@Timeout(240)
class TlsClusterIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int KEYS = 300;

    @Test
    void failoverAndMigration_overTls_keepEveryAcknowledgedWrite() throws Exception {
        try (LocalCluster cluster = new LocalCluster().withTls()) {
            cluster.start(2, 1);
            String router = cluster.router().url();
            assertThat(router).startsWith("https://");

            // Plain HTTP on a TLS port gets no HTTP answer.
            HttpClient plain = HttpClient.newBuilder()
                    .connectTimeout(Duration.ofSeconds(2))
                    .build();
            assertThatThrownBy(() -> plain.send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                                            + cluster.router().port() + "/k"))
                                    .timeout(Duration.ofSeconds(5))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString()))
                    .isInstanceOf(IOException.class);

            for (int i = 0; i < KEYS; i++) {
                assertThat(cluster.post(router + "/k" + i, "{\"value\":\"v1-" + i + "\"}")
                                .statusCode())
                        .isEqualTo(204);
            }
            // Replication over WSS: each replica reaches its primary's offset.
            for (String shard : cluster.nodes().keySet()) {
                long primaryOffset = offset(cluster, cluster.nodes().get(shard));
                assertThat(primaryOffset).isPositive();
                LocalCluster.Member replica = cluster.replicas(shard).getFirst();
                await().atMost(Duration.ofSeconds(20)).until(() -> offset(cluster, replica) >= primaryOffset);
            }
            long epoch = view(cluster).get("epoch").asLong();

            // A renewed server certificate is served without a restart (the TLS registry reloads it).
            java.math.BigInteger before = cluster.servedCertificateSerial(cluster.router());
            cluster.renewCertificate();
            // A handshake that meets the reload may be cut (loaded CI runs saw "Remote host
            // terminated the handshake" and "Connection reset" while the router swapped its
            // certificate): the served certificate is what this waits for, and the next request
            // must succeed.
            await().atMost(Duration.ofSeconds(20))
                    .pollInterval(Duration.ofMillis(200))
                    .ignoreExceptionsInstanceOf(IOException.class)
                    .until(() ->
                            !cluster.servedCertificateSerial(cluster.router()).equals(before));
            assertThat(cluster.get(router + "/k0").statusCode()).isEqualTo(200);

            // Failover: the router's probes and map pushes are HTTPS; the replica takes over.
            cluster.kill(cluster.nodes().get("s1"));
            await().atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> view(cluster).get("epoch").asLong() > epoch && allWritable(cluster, router, "v2-"));
            long failedOver = view(cluster).get("epoch").asLong();

            // Migration: a third shard added; the slots move node to node over HTTPS.
            LocalCluster.Member third = cluster.startNode("node-s3");
            cluster.awaitReady(List.of(third));
            assertThat(cluster.adminPost("/admin/shards", "{\"primary\":\"" + third.address() + "\"}")
                            .statusCode())
                    .isIn(200, 201, 202);
            await().atMost(Duration.ofSeconds(90))
                    .pollInterval(Duration.ofMillis(250))
                    .until(() -> {
                        JsonNode m = JSON.readTree(
                                        cluster.admin("/admin/migrations").body())
                                .path("migrations");
                        return m.size() == 1 && m.get(0).path("state").asText().equals("done");
                    });
            assertThat(view(cluster).get("epoch").asLong()).isGreaterThan(failedOver);
            JsonNode thirdShard = null;
            for (JsonNode shard : view(cluster).get("shards")) {
                if (shard.get("nodes").get(0).get("address").asText().equals(third.address())) {
                    thirdShard = shard;
                }
            }
            assertThat(thirdShard).isNotNull();
            assertThat(thirdShard.get("nodes").get(0).get("keys").asLong())
                    .as("keys copied to the new shard")
                    .isPositive();
            for (int i = 0; i < KEYS; i++) {
                HttpResponse<String> read = cluster.get(router + "/k" + i);
                assertThat(read.statusCode()).as("k" + i).isEqualTo(200);
                assertThat(JSON.readTree(read.body()).get("value").asText()).isEqualTo("v2-" + i);
            }

            // The console over HTTPS, calling the router over HTTPS.
            LocalCluster.Member ui = cluster.startAdminUi();
            HttpResponse<String> signIn = cluster.send(HttpRequest.newBuilder(URI.create(ui.url() + "/signin"))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString("token=" + LocalCluster.ADMIN_TOKEN)));
            assertThat(signIn.statusCode()).isEqualTo(303);
            String cookie = signIn.headers().firstValue("Set-Cookie").orElseThrow();
            assertThat(cookie).containsIgnoringCase("Secure");
            HttpResponse<String> page = cluster.send(
                    HttpRequest.newBuilder(URI.create(ui.url() + "/")).header("Cookie", cookie.split(";", 2)[0]));
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.body()).contains(third.address()).doesNotContain("refused");
        }
    }

    /** Whether every key takes a new value now (false while the failed shard has no primary). */
    private static boolean allWritable(LocalCluster cluster, String router, String prefix) throws Exception {
        for (int i = 0; i < KEYS; i++) {
            if (cluster.post(router + "/k" + i, "{\"value\":\"" + prefix + i + "\"}")
                            .statusCode()
                    != 204) {
                return false;
            }
        }
        return true;
    }

    private static long offset(LocalCluster cluster, LocalCluster.Member node) throws Exception {
        return JSON.readTree(cluster.status(node).body()).get("offset").asLong();
    }

    private static JsonNode view(LocalCluster cluster) throws Exception {
        HttpResponse<String> response = cluster.admin("/admin/cluster");
        assertThat(response.statusCode()).isEqualTo(200);
        return JSON.readTree(response.body());
    }
}
