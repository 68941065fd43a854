package dev.qache.loadtests.http;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes keys {@code <prefix>0 .. <prefix>(count-1)} to a node over HTTP, each with a value that is
 * a JSON string of exactly valueBytes bytes, optionally with a TTL; a write answered other than
 * 204 is printed and sent again, and the run fails if one still fails after three attempts.
 * Prints the wall-clock millisecond at which the last write was acknowledged.
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.qache.loadtests.http.Preload <baseUrl> <count>
 * <valueBytes> [ttlSeconds] [prefix]}; {@code -Dqache.bench.authorization="Bearer <token>"} sends that
 * header with every write (a node with {@code qache.data.tokens}).
 */
public final class Preload {

    private static final int IN_FLIGHT = 64;

    /** Failed attempts printed (key, time, answer or error); the rest are only counted. */
    private static final int REPORTED_FAILURES = 20;

    /** Times a write is sent before it counts as failed. */
    private static final int ATTEMPTS = 3;

    private static final long RETRY_PAUSE_MILLIS = 200;

    private static final AtomicLong REPORTED = new AtomicLong();

    public static void main(String[] args) throws Exception {
        String base = args[0];
        int count = Integer.parseInt(args[1]);
        int valueBytes = Integer.parseInt(args[2]);
        String ttl = args.length > 3 && !args[3].equals("-") ? ",\"ttl\":" + args[3] : "";
        String prefix = args.length > 4 ? args[4] : "bench:";
        String body = "{\"value\":\"" + "x".repeat(valueBytes - 2) + "\"" + ttl + "}";

        HttpClient client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
        String authorization = System.getProperty("qache.bench.authorization");
        Semaphore permits = new Semaphore(IN_FLIGHT);
        AtomicLong failures = new AtomicLong();
        AtomicLong lastAckMillis = new AtomicLong();
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) {
            permits.acquire();
            HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(base + "/" + prefix + i))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body));
            if (authorization != null) {
                builder.header("Authorization", authorization);
            }
            write(client, builder.build(), 1, failures, lastAckMillis, permits);
        }
        permits.acquire(IN_FLIGHT);
        long millis = (System.nanoTime() - start) / 1_000_000;
        System.out.printf(
                "preloaded %d keys of %d-byte values in %d ms (%.0f/s); last ack at %d%n",
                count, valueBytes, millis, count * 1000.0 / Math.max(1, millis), lastAckMillis.get());
        if (failures.get() > 0) {
            System.err.println(failures.get() + " writes failed " + ATTEMPTS + " times");
            System.exit(1);
        }
    }

    /**
     * Sends one write; a failure is printed (while few were) and the write sent again after a
     * pause, up to {@link #ATTEMPTS} times: a preload sets up a benchmark and is not what it
     * measures, but each failure stays visible.
     */
    private static void write(
            HttpClient client,
            HttpRequest request,
            int attempt,
            AtomicLong failures,
            AtomicLong lastAckMillis,
            Semaphore permits) {
        client.sendAsync(request, HttpResponse.BodyHandlers.ofString()).whenComplete((response, error) -> {
            if (error == null && response.statusCode() == 204) {
                lastAckMillis.accumulateAndGet(System.currentTimeMillis(), Math::max);
                permits.release();
                return;
            }
            if (REPORTED.incrementAndGet() <= REPORTED_FAILURES) {
                System.err.printf(
                        "write of %s failed at %d (attempt %d of %d): %s%n",
                        request.uri().getPath(),
                        System.currentTimeMillis(),
                        attempt,
                        ATTEMPTS,
                        error != null ? error : response.statusCode() + " " + response.body());
            }
            if (attempt < ATTEMPTS) {
                CompletableFuture.delayedExecutor(RETRY_PAUSE_MILLIS, TimeUnit.MILLISECONDS)
                        .execute(() -> write(client, request, attempt + 1, failures, lastAckMillis, permits));
            } else {
                failures.incrementAndGet();
                permits.release();
            }
        });
    }
}
