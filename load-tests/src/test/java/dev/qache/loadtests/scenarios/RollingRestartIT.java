package dev.qache.loadtests.scenarios;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.qache.loadtests.faults.Checker;
import dev.qache.loadtests.faults.History;
import dev.qache.loadtests.faults.History.Outcome;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code ./qache rolling-restart} under load (issue 17, point 3), run as a user runs it: a cluster
 * from {@code ./qache up} (in a state directory of its own, on the script's fixed ports), the fault
 * tests' recording clients on the router, the script restarting every node once, replicas first,
 * then each primary (which hands its shard over on SIGTERM). No request may fail, and the checker
 * must find nothing lost, undone or invented.
 */
@Timeout(600)
class RollingRestartIT {

    private Path state;
    private RecordingClients clients;

    @AfterEach
    void down() throws Exception {
        if (clients != null) {
            clients.stop();
        }
        if (state != null) {
            qache(Duration.ofSeconds(60), "down");
        }
    }

    private String qache(Duration within, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(
                List.of("bash", LocalCluster.ROOT.resolve("qache").toString()));
        command.addAll(List.of(args));
        Path out = state.resolve(args[0] + ".out");
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(LocalCluster.ROOT.toFile())
                .redirectErrorStream(true)
                .redirectOutput(out.toFile());
        builder.environment().put("QACHE_STATE", state.toString());
        Process process = builder.start();
        if (!process.waitFor(within.toSeconds(), TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("./qache " + String.join(" ", args) + " took over " + within.toSeconds() + " s:\n"
                    + Files.readString(out));
        }
        String printed = Files.readString(out);
        assertThat(process.exitValue())
                .as("./qache " + String.join(" ", args) + ":\n" + printed)
                .isZero();
        return printed;
    }

    @Test
    void rollingRestart_underLoad_failsNoRequest_losesNothing() throws Exception {
        state = Files.createTempDirectory("qache-rolling");
        qache(Duration.ofMinutes(3), "up", "--shards", "2", "--replicas", "1");

        History history = new History();
        clients = new RecordingClients(history, key -> URI.create("http://127.0.0.1:7000/" + key), false);
        clients.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> acknowledged(history) >= 200);

        long start = System.nanoTime();
        String restarted = qache(Duration.ofMinutes(5), "rolling-restart");
        history.fault(new History.Fault("rolling-restart", "every node", start, System.nanoTime()));
        System.out.print(restarted);
        long before = acknowledged(history);
        await().atMost(Duration.ofSeconds(30)).until(() -> acknowledged(history) >= before + 200);
        clients.stopAndReadEveryKey();

        assertThat(restarted.lines().filter(l -> l.startsWith("restarted node-")))
                .as("every node restarted once")
                .hasSize(4);
        Checker.Result result = new Checker(
                        Duration.ofMillis(300).toNanos(), Duration.ofSeconds(1).toNanos(), key -> "cluster")
                .check(history);
        System.out.printf(
                "rolling restart in %d ms: %d operations, %d writes and deletes acknowledged%n",
                (System.nanoTime() - start) / 1_000_000, result.operations(), result.acknowledgedMutations());
        RecordingClients.assertNothingFailedOrUndone(history, result);
        assertThat(result.invented()).as("values nobody wrote").isEmpty();
        assertThat(result.acknowledgedMutations()).isGreaterThan(1000);
    }

    private static long acknowledged(History history) {
        return history.ops().stream()
                .filter(op -> op.type() != History.Type.READ && op.outcome() == Outcome.OK)
                .count();
    }
}
