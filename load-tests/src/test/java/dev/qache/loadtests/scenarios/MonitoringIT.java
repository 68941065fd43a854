package dev.qache.loadtests.scenarios;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.qache.loadtests.monitoring.Monitoring;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every metric the Grafana dashboard and the alert rules query exists: a cluster (2 shards with a
 * replica each, a router) serves some writes, hits, misses and deletes, and the names its router,
 * a primary and a replica export on {@code /q/metrics} must include every name in the panels'
 * and rules' expressions. A renamed meter fails here rather than leaving an empty panel or an
 * alert that never fires.
 */
class MonitoringIT {

    private LocalCluster cluster;

    @AfterEach
    void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void everyMetricTheDashboardAndTheAlertsQuery_isExported() throws Exception {
        cluster = new LocalCluster().start(2, 1);
        String router = cluster.router().url();
        for (int i = 0; i < 50; i++) {
            assertThat(cluster.post(router + "/m" + i, "{\"value\":" + i + "}").statusCode())
                    .isEqualTo(204);
            cluster.get(router + "/m" + i);
            cluster.get(router + "/absent-" + i);
        }
        cluster.send(HttpRequest.newBuilder(java.net.URI.create(router + "/m0")).DELETE());

        List<LocalCluster.Member> members = List.of(
                cluster.router(),
                cluster.nodes().get("s1"),
                cluster.replicas("s1").get(0));
        Set<String> queried = Monitoring.metricNames(Monitoring.expressions());
        assertThat(queried).as("the files name metrics at all").hasSizeGreaterThan(10);
        // Some series appear only once their first value is published: the primary publishes
        // each replica's lag every second once the replica's session runs.
        Set<String> exported = new TreeSet<>();
        try {
            await().atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(500))
                    .until(() -> {
                        exported.addAll(exportedBy(members));
                        return exported.containsAll(queried);
                    });
        } catch (ConditionTimeoutException e) {
            // Say which are missing.
        }
        System.out.printf(
                "%d metric names queried by the dashboard and the alerts, %d exported%n",
                queried.size(), exported.size());
        assertThat(exported)
                .as("exported by the router, a primary and a replica within 30 s")
                .containsAll(queried);
    }

    private Set<String> exportedBy(List<LocalCluster.Member> members) throws Exception {
        Set<String> names = new TreeSet<>();
        for (LocalCluster.Member member : members) {
            cluster.get(member.url() + "/q/metrics")
                    .body()
                    .lines()
                    .filter(line -> !line.startsWith("#") && !line.isBlank())
                    .map(line -> line.split("[{ ]", 2)[0])
                    .forEach(names::add);
        }
        return names;
    }
}
