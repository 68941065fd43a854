package dev.qache.loadtests.scenarios;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qache.loadtests.faults.Checker;
import dev.qache.loadtests.faults.History;
import dev.qache.loadtests.faults.History.Op;
import dev.qache.loadtests.faults.History.Outcome;
import dev.qache.loadtests.faults.History.Type;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * The fault tests' clients: four writers, each the only one to write and delete its 40 keys
 * (every value unique), and four readers of every key, each recording every operation with its
 * invocation and completion times and its outcome in a {@link History}, for the {@code Checker}.
 */
final class RecordingClients {

    static final int WRITERS = 4;
    static final int READERS = 4;
    static final int KEYS_PER_WRITER = 40;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final History history;
    private final Function<String, URI> url;
    private final boolean withTtls;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<Thread> threads = new ArrayList<>();

    /**
     * @param url where each key's calls go (the clients pick a router per call through it)
     * @param withTtls whether a quarter of the writes carry a TTL of one second
     */
    RecordingClients(History history, Function<String, URI> url, boolean withTtls) {
        this.history = history;
        this.url = url;
        this.withTtls = withTtls;
    }

    void start() {
        for (int w = 0; w < WRITERS; w++) {
            int client = w;
            threads.add(Thread.ofPlatform().daemon().name("writer-" + w).start(() -> writer(client)));
        }
        for (int r = 0; r < READERS; r++) {
            int client = WRITERS + r;
            threads.add(Thread.ofPlatform().daemon().name("reader-" + r).start(() -> reader(client)));
        }
    }

    /**
     * What a planned change (a SIGTERM, a rolling restart) must show: every request answered and
     * acknowledged, and nothing undone, inside the replication window or out.
     */
    static void assertNothingFailedOrUndone(History history, Checker.Result result) {
        assertThat(history.ops().stream().filter(op -> op.outcome() != Outcome.OK))
                .as("requests that failed or got no answer")
                .isEmpty();
        assertThat(result.lostWrites()).as("acknowledged writes lost").isEmpty();
        assertThat(result.undoneDeletes())
                .as("acknowledged deletes or overwrites undone")
                .isEmpty();
    }

    /** Stops the clients (a test that failed half-way calls it from its clean-up too). */
    void stop() throws InterruptedException {
        running.set(false);
        for (Thread thread : threads) {
            thread.join();
        }
    }

    /** Stops the clients, then reads every key once more (the final reads, after the cluster healed). */
    void stopAndReadEveryKey() throws InterruptedException {
        stop();
        for (int w = 0; w < WRITERS; w++) {
            for (int k = 0; k < KEYS_PER_WRITER; k++) {
                read(-1, key(w, k));
            }
        }
    }

    private static String key(int writer, int k) {
        return "w" + writer + "-k" + k;
    }

    private void writer(int client) {
        Random random = new Random(client);
        long sequence = 0;
        while (running.get()) {
            String key = key(client, random.nextInt(KEYS_PER_WRITER));
            long invoke = System.nanoTime();
            if (random.nextInt(10) == 0) {
                Outcome outcome = outcome(
                        () -> send(HttpRequest.newBuilder(url.apply(key)).DELETE()), true);
                history.add(new Op(client, Type.DELETE, key, null, invoke, System.nanoTime(), outcome));
            } else {
                String value = "c" + client + "-" + sequence++;
                boolean ttl = withTtls && random.nextInt(4) == 0;
                String body = "{\"value\":\"" + value + "\"" + (ttl ? ",\"ttl\":1}" : "}");
                Outcome outcome = outcome(
                        () -> send(HttpRequest.newBuilder(url.apply(key))
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body))),
                        true);
                history.add(new Op(
                        client,
                        Type.WRITE,
                        key,
                        value,
                        invoke,
                        System.nanoTime(),
                        outcome,
                        ttl ? Duration.ofSeconds(1).toNanos() : 0));
            }
        }
    }

    private void reader(int client) {
        Random random = new Random(100 + client);
        while (running.get()) {
            read(client, key(random.nextInt(WRITERS), random.nextInt(KEYS_PER_WRITER)));
        }
    }

    private void read(int client, String key) {
        long invoke = System.nanoTime();
        try {
            HttpResponse<String> response = send(HttpRequest.newBuilder(url.apply(key)));
            long complete = System.nanoTime();
            if (response.statusCode() == 200) {
                String value = JSON.readTree(response.body()).path("value").asText();
                history.add(new Op(client, Type.READ, key, value, invoke, complete, Outcome.OK));
            } else if (response.statusCode() == 404) {
                history.add(new Op(client, Type.READ, key, null, invoke, complete, Outcome.OK));
            } else {
                history.add(new Op(client, Type.READ, key, null, invoke, complete, Outcome.FAIL));
            }
        } catch (IOException | InterruptedException e) {
            history.add(new Op(client, Type.READ, key, null, invoke, System.nanoTime(), Outcome.INFO));
        }
    }

    private HttpResponse<String> send(HttpRequest.Builder request) throws IOException, InterruptedException {
        return http.send(request.timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @FunctionalInterface
    interface Call {
        HttpResponse<String> call() throws IOException, InterruptedException;
    }

    /**
     * A mutation's outcome as a client can tell it: 204 (and 404 for a delete) acknowledged; a 4xx
     * or a refusal that says nothing was written failed; anything else (a timeout, another 5xx)
     * unknown.
     */
    static Outcome outcome(Call call, boolean mutation) {
        try {
            HttpResponse<String> response = call.call();
            int status = response.statusCode();
            if (status == 204 || (mutation && status == 404)) {
                return Outcome.OK;
            }
            if (status >= 400 && status < 500) {
                return Outcome.FAIL;
            }
            String body = response.body();
            if (body.contains("write-lease-lapsed")
                    || body.contains("handing-off")
                    || body.contains("takes no writes now")
                    || body.contains("circuit")) {
                return Outcome.FAIL;
            }
            return Outcome.INFO;
        } catch (java.net.ConnectException e) {
            return Outcome.FAIL;
        } catch (IOException | InterruptedException e) {
            return Outcome.INFO;
        }
    }
}
