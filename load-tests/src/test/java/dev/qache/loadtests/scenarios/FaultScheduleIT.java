package dev.qache.loadtests.scenarios;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qache.loadtests.faults.Checker;
import dev.qache.loadtests.faults.History;
import dev.qache.loadtests.faults.History.Op;
import dev.qache.loadtests.faults.History.Outcome;
import dev.qache.loadtests.faults.History.Type;
import dev.qache.protocol.Slots;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A Jepsen-style run: concurrent clients write, overwrite, delete and read keys through the
 * router, recording every operation with its invocation and completion times and outcome, while a
 * schedule of faults hits the cluster (SIGKILL, SIGSTOP of 350 ms and of 2 s, of primaries and of
 * replicas, a restart with empty memory, a restart of the router, and, where root with {@code ip}
 * and {@code iptables} may, a primary cut off from the router or from its replica: every node then
 * runs in a network namespace of its own). Then every key
 * is read once more and {@link Checker} reads the whole history.
 *
 * <p>In {@code verify} the schedule runs each kind of fault once ({@code -Dqache.faults.rounds},
 * default 1); {@code load-tests/faults/run.sh} runs it for ten minutes and
 * writes the report that docs/BENCHMARKS.md quotes. The report goes to {@code
 * load-tests/target/faults-report.txt} either way.
 */
@Timeout(3600)
class FaultScheduleIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    private LocalCluster cluster;
    private final History history = new History();

    /** Whether a quarter of the writes carry a TTL of one second (the migration schedule). */
    private boolean withTtls;

    /**
     * A run that acknowledged fewer mutations than this did not load the cluster: the schedules
     * with fast links make thousands; the slow-links one, every call to a slowed node 160 ms to 2 s
     * long, 900 to 1,300 in the runs recorded.
     */
    private int minimumAcknowledged = 1000;

    /** The router's options, for its restarts. */
    private String[] routerOptions = {"-Dqache.router.forward-timeout=2s"};

    /** The recording clients of the run, once it started them. */
    private RecordingClients clients;

    @AfterEach
    void stop() throws Exception {
        if (clients != null) {
            clients.stop();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void faultSchedule_losesNothingOutsideTheWindow_resurrectsAndInventsNothing() throws Exception {
        boolean partitions = canPartition();
        cluster = new LocalCluster();
        if (partitions) {
            cluster.withNetworkNamespaces();
        } else {
            System.out.println("partitions skipped: they need root, ip and iptables");
        }
        cluster.start(2, 1, "-Dqache.router.forward-timeout=2s");
        List<String> kinds = new ArrayList<>(List.of(
                "kill-primary",
                "pause-primary-350ms",
                "pause-primary-2s",
                "kill-replica",
                "pause-replica-2s",
                "restart-primary-empty",
                "restart-router"));
        if (partitions) {
            kinds.addAll(List.of("partition-primary-from-router-2s", "partition-primary-from-replica-5s"));
        }
        run(kinds, "faults-report.txt");
    }

    /**
     * Slow links (a proxy in front of every node, so the router's calls and the replicas' streams
     * to it are delayed): a primary 80 ms away each way stays primary and serves, slowly; a
     * replica a second behind catches up.
     */
    @Test
    void slowLinks_loseAndInventNothing() throws Exception {
        minimumAcknowledged = 300;
        cluster = new LocalCluster().withSlowLinks();
        cluster.start(2, 1, "-Dqache.router.forward-timeout=2s");
        run(List.of("slow-primary-link-80ms-3s", "slow-replica-link-1s-5s"), "faults-slow-links-report.txt");
    }

    /**
     * SIGTERM (issue 17), as systemd or ECS stop a member for an upgrade: a primary hands its shard
     * to its replica before it exits, a replica just leaves; each is started again. No request may
     * fail and no acknowledged write or delete may be undone, inside the window or out.
     */
    @Test
    void sigterm_failsNoRequest_losesNothing() throws Exception {
        cluster = new LocalCluster().withShutdownHandOff();
        cluster.start(2, 1, routerOptions);
        Checker.Result result = run(
                List.of("terminate-primary", "terminate-replica", "terminate-primary", "terminate-replica"),
                "faults-sigterm-report.txt");
        RecordingClients.assertNothingFailedOrUndone(history, result);
    }

    /**
     * Three routers in one Raft group (issue 16), with router faults in the schedule: the leader
     * killed or paused for 2 s, a follower killed, a follower restarted with an empty data
     * directory, and a primary killed (failed over by whichever router leads). Clients go through
     * the routers the fault spares, as a load balancer's health check would send them.
     */
    @Test
    void routerGroup_underFaults_losesNothingOutsideTheWindow_resurrectsAndInventsNothing() throws Exception {
        cluster = new LocalCluster().withRouters(3);
        cluster.start(2, 1, routerOptions);
        run(
                List.of(
                        "kill-router-leader",
                        "pause-router-leader-2s",
                        "kill-router-follower",
                        "restart-router-follower-empty",
                        "kill-primary"),
                "faults-router-group-report.txt");
    }

    /**
     * Migrations under faults (issue 15): a third shard is added and removed again and again while
     * the clients write (a quarter of the writes with a one-second TTL), overwrite, delete and read;
     * in the middle of some of those migrations the source's primary, the target's primary or the
     * router is killed. Filler keys make each copy last seconds (the copy is throttled). The
     * checker finds nothing resurrected, no expired value served, nothing invented, and nothing
     * lost outside the replication window of a kill.
     */
    @Test
    void migrations_underFaults_resurrectLoseAndInventNothing() throws Exception {
        withTtls = true;
        routerOptions = new String[] {
            "-Dqache.router.forward-timeout=2s",
            "-Dqache.router.migration.adaptive=false",
            "-Dqache.router.migration.rate=512K",
            "-Dqache.router.migration.slots-in-flight=2"
        };
        cluster = new LocalCluster().start(2, 1, routerOptions);
        String filler = "f".repeat(2_000);
        for (int i = 0; i < 4_000; i++) {
            assertThat(cluster.post(cluster.router().url() + "/filler-" + i, "{\"value\":\"" + filler + "\"}")
                            .statusCode())
                    .isEqualTo(204);
        }
        LocalCluster.Member third = cluster.startNode("node-s3");
        LocalCluster.Member thirdReplica = cluster.startNode("node-s3-r1");
        cluster.awaitReady(List.of(third, thirdReplica));
        replace(third, third);
        replace(thirdReplica, thirdReplica);
        spare = new ArrayList<>(List.of(third.address(), thirdReplica.address()));
        run(
                List.of(
                        "add-shard",
                        "remove-shard",
                        "add-shard-kill-source-primary",
                        "remove-shard-kill-target-primary",
                        "add-shard-kill-target-primary",
                        "remove-shard-kill-source-primary",
                        "add-shard-restart-router",
                        "remove-shard-restart-router"),
                "faults-migrations-report.txt");
    }

    /** The third shard's nodes while it is out of the map: its primary first. */
    private List<String> spare = List.of();

    private Checker.Result run(List<String> kinds, String reportFile) throws Exception {
        int rounds = Integer.getInteger("qache.faults.rounds", 1);
        long minutes = Long.getLong("qache.faults.minutes", 0);
        Map<Integer, String> slotOwners = slotOwners();
        java.util.function.Function<String, String> shardOf =
                key -> slotOwners.get(Slots.of(key.getBytes(StandardCharsets.UTF_8)));
        awaitHealthy();

        clients = new RecordingClients(history, this::url, withTtls);
        clients.start();

        Map<String, List<Long>> writesBackMillis = new java.util.TreeMap<>();
        long endNanos = System.nanoTime() + Duration.ofMinutes(minutes).toNanos();
        int faults = 0;
        Random random = new Random(7);
        for (int round = 0; round < rounds || System.nanoTime() < endNanos; round++) {
            for (String kind : kinds) {
                String shard = random.nextBoolean() ? "s1" : "s2";
                History.Fault fault = inject(kind, shard);
                history.fault(fault);
                faults++;
                awaitHealthy();
                if (kind.contains("primary")
                        && !kind.contains("from-replica")
                        && !kind.startsWith("slow")
                        && !kind.contains("shard")) {
                    writesBackMillis
                            .computeIfAbsent(kind, k -> new ArrayList<>())
                            .add(writesBack(fault, shard, shardOf) / 1_000_000);
                }
                Thread.sleep(500); // quiet time between faults, so each is judged on its own
            }
        }
        clients.stopAndReadEveryKey();

        Checker.Result result = new Checker(
                        Duration.ofMillis(300).toNanos(), Duration.ofSeconds(1).toNanos(), shardOf)
                .check(history);
        String report = report(result, faults, writesBackMillis) + faultTimes(history.faults(), history.ops());
        System.out.println(report);
        Files.writeString(Path.of("target", reportFile), report);
        assertThat(result.invented()).as("values nobody wrote").isEmpty();
        assertThat(result.expiredServed()).as("values read after their TTL").isEmpty();
        assertThat(result.outsideWindow())
                .as("acknowledged writes or deletes undone outside the window")
                .isZero();
        assertThat(result.acknowledgedMutations()).isGreaterThan(minimumAcknowledged);
        return result;
    }

    private static boolean canPartition() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return false;
        }
        try {
            return new ProcessBuilder("iptables", "-V").start().waitFor() == 0
                    && new ProcessBuilder("ip", "-V").start().waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Routers a fault is on: clients keep away from them until it is over. */
    private final java.util.Set<String> faulty = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private URI url(String key) {
        List<LocalCluster.Member> spared = cluster.routers().stream()
                .filter(r -> r.process().isAlive() && !faulty.contains(r.name()))
                .toList();
        LocalCluster.Member router = spared.isEmpty()
                ? cluster.router()
                : spared.get(java.util.concurrent.ThreadLocalRandom.current().nextInt(spared.size()));
        return URI.create(router.url() + "/" + key);
    }

    private History.Fault inject(String kind, String shard) throws Exception {
        LocalCluster.Member primary = member(cluster.primaryOf(shard));
        LocalCluster.Member replica = member(replicaOf(shard));
        long start = System.nanoTime();
        switch (kind) {
            case "kill-primary" -> {
                cluster.kill(primary);
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> !cluster.primaryOf(shard).equals(primary.address()));
                replace(primary, cluster.restart(primary));
            }
            case "terminate-primary" -> {
                cluster.terminate(primary);
                assertThat(cluster.primaryOf(shard))
                        .as("the primary handed its shard over before it exited")
                        .isNotEqualTo(primary.address());
                replace(primary, cluster.restart(primary));
            }
            case "terminate-replica" -> {
                cluster.terminate(replica);
                replace(replica, cluster.restart(replica));
            }
            case "pause-primary-350ms", "pause-primary-2s" -> {
                cluster.freeze(primary);
                Thread.sleep(kind.endsWith("350ms") ? 350 : 2000); // the fault's length
                cluster.resume(primary);
            }
            case "kill-replica" -> {
                cluster.kill(replica);
                Thread.sleep(1000); // the fault's length: a second without the replica
                replace(replica, cluster.restart(replica));
            }
            case "pause-replica-2s" -> {
                cluster.freeze(replica);
                Thread.sleep(2000);
                cluster.resume(replica);
            }
            case "restart-primary-empty" -> {
                cluster.kill(primary);
                replace(primary, cluster.restart(primary));
            }
            case "partition-primary-from-router-2s" -> {
                cluster.partition(primary, null);
                Thread.sleep(2000); // the fault's length
                cluster.heal(primary);
            }
            case "partition-primary-from-replica-5s" -> {
                cluster.partition(primary, replica);
                Thread.sleep(5000); // long enough for the link's idle timeout to notice
                cluster.heal(primary);
            }
            case "slow-primary-link-80ms-3s" -> {
                cluster.slowLink(primary).delay(80);
                Thread.sleep(3000); // the fault's length
                cluster.slowLink(primary).delay(0);
            }
            case "slow-replica-link-1s-5s" -> {
                cluster.slowLink(replica).delay(1000);
                Thread.sleep(5000);
                cluster.slowLink(replica).delay(0);
            }
            case "restart-router" -> {
                cluster.kill(cluster.router());
                cluster.startRouter(routerOptions);
            }
            case "kill-router-leader", "kill-router-follower", "restart-router-follower-empty" -> {
                int index = routerIndex(kind.contains("leader"));
                LocalCluster.Member router = cluster.routers().get(index);
                faulty.add(router.name());
                cluster.kill(router);
                awaitRouterLeader(router);
                if (kind.endsWith("empty")) {
                    LocalCluster.deleteTree(cluster.routerDataDir(index));
                }
                cluster.startRouter(index, routerOptions);
                faulty.remove(router.name());
            }
            case "pause-router-leader-2s" -> {
                LocalCluster.Member router = cluster.routers().get(routerIndex(true));
                faulty.add(router.name());
                cluster.freeze(router);
                Thread.sleep(2000); // the fault's length
                cluster.resume(router);
                faulty.remove(router.name());
            }
            case "add-shard",
                    "add-shard-kill-source-primary",
                    "add-shard-kill-target-primary",
                    "add-shard-restart-router" -> {
                HttpResponse<String> added = cluster.adminPost(
                        "/admin/shards",
                        "{\"id\":\"s3\",\"primary\":\"" + spare.get(0) + "\",\"replicas\":[\"" + spare.get(1) + "\"]}");
                assertThat(added.statusCode()).as(added.body()).isEqualTo(201);
                midMigration(kind, "s3", shard);
                awaitMigrationDone(kind);
            }
            case "remove-shard",
                    "remove-shard-kill-source-primary",
                    "remove-shard-kill-target-primary",
                    "remove-shard-restart-router" -> {
                JsonNode nodes = cluster.shard("s3").path("nodes");
                spare = List.of(
                        nodes.get(0).path("address").asText(),
                        nodes.get(1).path("address").asText());
                HttpResponse<String> removed = cluster.send(
                        HttpRequest.newBuilder(URI.create(cluster.router().url() + "/admin/shards/s3"))
                                .header("Authorization", "Bearer " + LocalCluster.ADMIN_TOKEN)
                                .DELETE());
                assertThat(removed.statusCode()).as(removed.body()).isEqualTo(202);
                midMigration(kind, shard, "s3");
                awaitMigrationDone(kind);
                await().atMost(Duration.ofSeconds(60))
                        .until(() -> !cluster.admin("/admin/cluster").body().contains("\"s3\""));
            }
            default -> throw new IllegalArgumentException(kind);
        }
        return new History.Fault(kind, shard, start, System.nanoTime());
    }

    /**
     * The fault a migration kind names, once a third of its slots are copied: the primary of
     * {@code target} or of {@code source} killed (and restarted, to rejoin as a replica once its
     * replica is promoted), or the router restarted.
     */
    private void midMigration(String kind, String target, String source) throws Exception {
        if (!kind.contains("-kill-") && !kind.endsWith("restart-router")) {
            return;
        }
        await().atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(20))
                .ignoreExceptions()
                .until(() -> {
                    JsonNode m = migration();
                    return m.path("slotsDone").asInt() * 3
                            >= m.path("slotsTotal").asInt();
                });
        long start = System.nanoTime();
        if (kind.endsWith("restart-router")) {
            cluster.kill(cluster.router());
            cluster.startRouter(routerOptions);
            history.fault(new History.Fault("restart-router (mid-migration)", "router", start, System.nanoTime()));
            return;
        }
        String shard = kind.endsWith("target-primary") ? target : source;
        LocalCluster.Member primary = member(cluster.primaryOf(shard));
        cluster.kill(primary);
        // The kill is a fault of its own: the replication window is counted from it.
        history.fault(new History.Fault("kill-primary (mid-migration)", shard, start, System.nanoTime()));
        await().atMost(Duration.ofSeconds(30))
                .until(() -> !cluster.primaryOf(shard).equals(primary.address()));
        replace(primary, cluster.restart(primary));
    }

    private JsonNode migration() throws Exception {
        return JSON.readTree(cluster.admin("/admin/migrations").body())
                .path("migrations")
                .get(0);
    }

    private void awaitMigrationDone(String kind) {
        cluster.awaitMigrationDone(Duration.ofSeconds(120), kind);
    }

    /** Members by address, across restarts. */
    private final Map<String, LocalCluster.Member> restarted = new HashMap<>();

    private void replace(LocalCluster.Member old, LocalCluster.Member again) {
        restarted.put(old.address(), again);
    }

    private LocalCluster.Member member(String address) {
        LocalCluster.Member again = restarted.get(address);
        if (again != null) {
            return again;
        }
        for (Map.Entry<String, LocalCluster.Member> e : cluster.nodes().entrySet()) {
            if (e.getValue().address().equals(address)) {
                return e.getValue();
            }
            for (LocalCluster.Member r : cluster.replicas(e.getKey())) {
                if (r.address().equals(address)) {
                    return r;
                }
            }
        }
        throw new IllegalStateException("no member at " + address);
    }

    private String replicaOf(String shard) throws Exception {
        return cluster.shard(shard).path("nodes").get(1).path("address").asText();
    }

    private Map<Integer, String> slotOwners() throws Exception {
        Map<Integer, String> owners = new HashMap<>();
        for (JsonNode range :
                JSON.readTree(cluster.admin("/admin/cluster").body()).path("slots")) {
            for (int slot = range.path("from").asInt(); slot <= range.path("to").asInt(); slot++) {
                owners.put(slot, range.path("shard").asText());
            }
        }
        return owners;
    }

    /** Every node up, every replica streaming and in sync, writes answered. */
    /** The index of the router that leads the group ({@code leader}), or of one that does not. */
    private int routerIndex(boolean leader) throws Exception {
        String leads = JSON.readTree(cluster.admin("/admin/cluster").body())
                .path("routers")
                .path("leader")
                .asText();
        int leaderIndex = Integer.parseInt(leads.substring(1)) - 1;
        return leader ? leaderIndex : (leaderIndex + 1) % cluster.routers().size();
    }

    /** Until the routers other than {@code gone} agree that one of them leads. */
    private void awaitRouterLeader(LocalCluster.Member gone) {
        await().atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(50))
                .ignoreExceptions()
                .until(() -> {
                    String leads = JSON.readTree(cluster.admin("/admin/cluster").body())
                            .path("routers")
                            .path("leader")
                            .asText("");
                    return !leads.isEmpty() && !gone.name().equals("router-" + leads);
                });
    }

    private void awaitHealthy() {
        await().atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> {
                    JsonNode view =
                            JSON.readTree(cluster.admin("/admin/cluster").body());
                    for (JsonNode shard : view.path("shards")) {
                        if (!shard.path("writesUnavailable").isNull()) {
                            return false;
                        }
                        for (JsonNode node : shard.path("nodes")) {
                            if (!node.path("health").asText().equals("up")) {
                                return false;
                            }
                            if (node.path("role").asText().equals("replica")
                                    && !"streaming".equals(node.path("link").asText())) {
                                return false;
                            }
                        }
                    }
                    return true;
                });
    }

    /**
     * How long after the fault began the last write to its shard invoked from then on was answered,
     * of those not answered within 200 ms: the writes that met the fault are answered by then, and
     * every later one promptly. (A write sent to a frozen primary waits until it wakes, or for the
     * forward timeout: the router cannot tell whether it was applied, so it does not resend it.)
     */
    private long writesBack(History.Fault fault, String shard, java.util.function.Function<String, String> shardOf) {
        long waited = fault.startNanos();
        for (Op op : history.ops()) {
            if (op.type() == Type.READ
                    || op.invokeNanos() < fault.startNanos()
                    || op.invokeNanos()
                            > fault.endNanos() + Duration.ofSeconds(10).toNanos()
                    || !shardOf.apply(op.key()).equals(shard)) {
                continue;
            }
            boolean prompt = op.outcome() == Outcome.OK
                    && op.completeNanos() - op.invokeNanos()
                            < Duration.ofMillis(200).toNanos();
            if (!prompt) {
                waited = Math.max(waited, op.completeNanos());
            }
        }
        return waited - fault.startNanos();
    }

    private static String report(Checker.Result result, int faults, Map<String, List<Long>> writesBack) {
        StringBuilder out = new StringBuilder();
        List<Long> ages = result.agesNanos();
        out.append(String.format(
                Locale.ROOT,
                "faults: %d; operations: %d; acknowledged writes and deletes: %d%n",
                faults,
                result.operations(),
                result.acknowledgedMutations()));
        out.append(String.format(
                Locale.ROOT,
                "writes and deletes: %d acknowledged, %d refused (not applied), %d unknown%n",
                result.acknowledgedMutations(),
                result.refusedMutations(),
                result.unknownMutations()));
        out.append(String.format(
                Locale.ROOT,
                "lost writes: %d (outside the window: %d); undone deletes/overwrites: %d (outside: %d);"
                        + " invented: %d; read after their TTL: %d%n",
                result.lostWrites().size(),
                result.lostWrites().stream().filter(u -> !u.insideWindow()).count(),
                result.undoneDeletes().size(),
                result.undoneDeletes().stream().filter(u -> !u.insideWindow()).count(),
                result.invented().size(),
                result.expiredServed().size()));
        out.append(String.format(
                Locale.ROOT,
                "ages of the undone (fault start - acknowledgement; negative: acknowledged as the fault began):"
                        + " min %s ms, p50 %s ms, p99 %s ms, max %s ms%n",
                percentile(ages, 0.0),
                percentile(ages, 0.5),
                percentile(ages, 0.99),
                percentile(ages, 1.0)));
        result.longestWriteOutageNanos()
                .forEach((shard, nanos) -> out.append(
                        String.format(Locale.ROOT, "longest write outage %s: %d ms%n", shard, nanos / 1_000_000)));
        result.longestReadOutageNanos()
                .forEach((shard, nanos) -> out.append(
                        String.format(Locale.ROOT, "longest read outage %s: %d ms%n", shard, nanos / 1_000_000)));
        writesBack.forEach((kind, millis) -> {
            List<Long> sorted = new ArrayList<>(millis);
            sorted.sort(Long::compare);
            out.append(String.format(
                    Locale.ROOT,
                    "writes back after %s (the last slow write answered): median %d ms of %s%n",
                    kind,
                    sorted.get(sorted.size() / 2),
                    sorted));
        });
        for (Checker.Undone u : result.lostWrites()) {
            if (!u.insideWindow()) {
                out.append("  lost outside the window: ")
                        .append(u.op())
                        .append("\n    first seen missing by: ")
                        .append(u.read())
                        .append('\n');
            }
        }
        for (Checker.Undone u : result.undoneDeletes()) {
            if (!u.insideWindow()) {
                out.append("  undone outside the window: ")
                        .append(u.op())
                        .append("\n    first seen undone by: ")
                        .append(u.read())
                        .append('\n');
            }
        }
        for (Op op : result.invented()) {
            out.append("  invented: ").append(op).append('\n');
        }
        for (Op op : result.expiredServed()) {
            out.append("  read after its TTL: ").append(op).append('\n');
        }
        return out.toString();
    }

    /** When each fault ran, in nanoTime as the operations above, and in ms from the first operation. */
    private static String faultTimes(List<History.Fault> faults, List<Op> ops) {
        long first = ops.stream().mapToLong(Op::invokeNanos).min().orElse(0);
        StringBuilder out = new StringBuilder();
        for (History.Fault fault : faults) {
            out.append(String.format(
                    Locale.ROOT,
                    "  fault %s on %s: %d..%d (%d..%d ms)%n",
                    fault.kind(),
                    fault.target(),
                    fault.startNanos(),
                    fault.endNanos(),
                    (fault.startNanos() - first) / 1_000_000,
                    (fault.endNanos() - first) / 1_000_000));
        }
        return out.toString();
    }

    private static String percentile(List<Long> sortedNanos, double q) {
        if (sortedNanos.isEmpty()) {
            return "-";
        }
        int at = (int) Math.min(sortedNanos.size() - 1, Math.max(0, Math.ceil(q * sortedNanos.size()) - 1));
        return Long.toString(sortedNanos.get(Math.max(0, at)) / 1_000_000);
    }
}
