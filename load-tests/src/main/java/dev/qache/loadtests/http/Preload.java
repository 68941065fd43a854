package dev.qache.loadtests.http;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes keys {@code <prefix>0 .. <prefix>(count-1)} to a node over HTTP, each with a value that is
 * a JSON string of exactly valueBytes bytes, optionally with a TTL; fails on any non-204 answer.
 * Prints the wall-clock millisecond at which the last write was acknowledged.
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.qache.loadtests.http.Preload <baseUrl> <count>
 * <valueBytes> [ttlSeconds] [prefix]}; {@code -Dqache.bench.authorization="Bearer <token>"} sends that
 * header with every write (a node with {@code qache.data.tokens}).
 */
public final class Preload {

    private static final int IN_FLIGHT = 64;

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
            HttpRequest request = builder.build();
            client.sendAsync(request, HttpResponse.BodyHandlers.discarding()).whenComplete((response, error) -> {
                if (error != null || response.statusCode() != 204) {
                    failures.incrementAndGet();
                }
                lastAckMillis.accumulateAndGet(System.currentTimeMillis(), Math::max);
                permits.release();
            });
        }
        permits.acquire(IN_FLIGHT);
        long millis = (System.nanoTime() - start) / 1_000_000;
        System.out.printf(
                "preloaded %d keys of %d-byte values in %d ms (%.0f/s); last ack at %d%n",
                count, valueBytes, millis, count * 1000.0 / Math.max(1, millis), lastAckMillis.get());
        if (failures.get() > 0) {
            System.err.println(failures.get() + " writes failed");
            System.exit(1);
        }
    }
}
