package dev.qache.loadtests.gatling;

import static io.gatling.javaapi.core.CoreDsl.constantUsersPerSec;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.global;
import static io.gatling.javaapi.core.CoreDsl.percent;
import static io.gatling.javaapi.core.CoreDsl.rampUsersPerSec;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

import io.gatling.javaapi.core.Assertion;
import io.gatling.javaapi.core.ChainBuilder;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The load profiles, each an open workload at a constant arrival rate (a slow server cannot hide
 * behind fewer requests): GETs of keys drawn from a Zipf distribution and SETs with TTLs. The
 * subclasses pick the mix and the skew; system properties set the rest:
 *
 * <ul>
 *   <li>{@code qache.url} — where to send (a router, or a node), default {@code http://127.0.0.1:7000}
 *   <li>{@code qache.rate} — requests per second, default 1000
 *   <li>{@code qache.duration} — seconds at that rate after a 10 s ramp, default 60
 *   <li>{@code qache.keys} — key space {@code k0..k<n-1>}, default 100000 (preload it first)
 *   <li>{@code qache.p99} — the p99 bound the assertions hold, ms, default 50
 *   <li>{@code qache.max-failed} — failed requests allowed, default 0 (a run with a failover in it
 *       admits some)
 * </ul>
 */
public abstract class QacheSimulation extends Simulation {

    static final String URL = System.getProperty("qache.url", "http://127.0.0.1:7000");
    static final double RATE = Double.parseDouble(System.getProperty("qache.rate", "1000"));
    static final int SECONDS = Integer.getInteger("qache.duration", 60);
    static final int KEYS = Integer.getInteger("qache.keys", 100_000);
    static final int P99_MS = Integer.getInteger("qache.p99", 50);
    static final long MAX_FAILED = Long.getLong("qache.max-failed", 0L);
    static final int RAMP_SECONDS = 10;

    /** Ranks 1..n with probability proportional to 1/rank^s, sampled by binary search. */
    static final class Zipf {
        private final double[] cdf;

        Zipf(int n, double s) {
            cdf = new double[n];
            double sum = 0;
            for (int k = 1; k <= n; k++) {
                sum += 1 / Math.pow(k, s);
                cdf[k - 1] = sum;
            }
            for (int i = 0; i < n; i++) {
                cdf[i] /= sum;
            }
        }

        int next() {
            int i = Arrays.binarySearch(cdf, ThreadLocalRandom.current().nextDouble());
            return Math.min(i >= 0 ? i : -i - 1, cdf.length - 1);
        }
    }

    protected QacheSimulation(String name, double getPercent, double skew) {
        Zipf zipf = new Zipf(KEYS, skew);
        HttpProtocolBuilder protocol = http.baseUrl(URL)
                .acceptHeader("application/json")
                .shareConnections()
                .disableWarmUp();
        // Request names stay constant, so the report has one row per kind, not one per key.
        ChainBuilder get = exec(http("GET").get("/#{key}").check(status().in(200, 404)));
        ChainBuilder set = exec(http("SET")
                .post("/#{key}")
                .body(io.gatling.javaapi.core.CoreDsl.StringBody(session ->
                        "{\"value\":\"" + session.getString("key") + "-" + System.nanoTime() + "\",\"ttl\":300}"))
                .asJson()
                .check(status().is(204)));
        ScenarioBuilder scenario = scenario(name)
                .exec(session -> session.set("key", "k" + zipf.next()))
                .randomSwitch()
                .on(percent(getPercent).then(get), percent(100 - getPercent).then(set));
        List<Assertion> assertions = new ArrayList<>(List.of(
                global().failedRequests().count().lte(MAX_FAILED),
                global().responseTime().percentile(99.0).lt(P99_MS)));
        setUp(scenario.injectOpen(
                        rampUsersPerSec(1).to(RATE).during(Duration.ofSeconds(RAMP_SECONDS)),
                        constantUsersPerSec(RATE).during(Duration.ofSeconds(SECONDS))))
                .protocols(protocol)
                .assertions(assertions);
    }
}
