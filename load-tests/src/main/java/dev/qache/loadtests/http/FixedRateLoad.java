package dev.qache.loadtests.http;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * GETs (or POSTs of 100-byte values, or {@code -Dqache.bench.value-bytes}) of random keys at a fixed rate, an open workload: requests are sent on schedule whether or
 * not earlier ones have answered. Two latencies are kept for each request: from the moment it was
 * due (so a stall is not hidden by sending less: no coordinated omission) and from the moment it
 * was written (what the server and the network add, without the generator's own timer slack). One
 * Vert.x event loop, a pool of keep-alive connections. The first {@code warmup} seconds run at the
 * same rate and are not recorded. Prints one line: requests sent (warm-up included), errors, and
 * p50/p90/p99/max in microseconds for both views.
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.qache.loadtests.http.FixedRateLoad <baseUrl> <rate/s>
 * <seconds> <keys> [warmup-seconds] [prefix] [get|post|mixed]}; mixed is 90% GET, 10% POST. A POST
 * counts as answered on 204.
 */
public final class FixedRateLoad {

    public static void main(String[] args) throws Exception {
        URI base = URI.create(args[0]);
        int rate = Integer.parseInt(args[1]);
        int seconds = Integer.parseInt(args[2]);
        int keys = Integer.parseInt(args[3]);
        int warmupSeconds = args.length > 4 ? Integer.parseInt(args[4]) : 5;
        String prefix = args.length > 5 ? args[5] : "bench:";
        String mode = args.length > 6 ? args[6].toLowerCase(java.util.Locale.ROOT) : "get";
        // Writes in a hundred: get 0, post 100, mixed 10 (90% GET, 10% POST).
        int postPercent = switch (mode) {
            case "get" -> 0;
            case "post" -> 100;
            case "mixed" -> 10;
            default -> throw new IllegalArgumentException("mode is get, post or mixed: " + mode);
        };
        Buffer body =
                Buffer.buffer("{\"value\":\"" + "v".repeat(Integer.getInteger("qache.bench.value-bytes", 100)) + "\"}");
        String[] uris = new String[keys];
        for (int i = 0; i < keys; i++) {
            uris[i] = "/" + prefix + i;
        }
        Vertx vertx = Vertx.vertx();
        HttpClient client = vertx.createHttpClient(
                new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true),
                new PoolOptions().setHttp1MaxSize(Integer.getInteger("qache.bench.connections", 32)));
        Histogram fromDue = new Histogram(3);
        Histogram fromSend = new Histogram(3);
        // -Dqache.bench.timeline=PATH: one line per second of the run (warm-up excluded): second,
        // answered, errors, p50, p99 and max from due, in microseconds. Shows when a tail happens.
        String timelinePath = System.getProperty("qache.bench.timeline");
        java.io.PrintWriter timeline = timelinePath == null
                ? null
                : new java.io.PrintWriter(java.nio.file.Files.newBufferedWriter(java.nio.file.Path.of(timelinePath)));
        java.util.TreeMap<Long, Histogram> perSecond = new java.util.TreeMap<>();
        java.util.Map<Long, long[]> errorsPerSecond = new java.util.HashMap<>();
        AtomicLong errors = new AtomicLong();
        long warmup = (long) rate * warmupSeconds;
        long[] totalHolder = {warmup + (long) rate * seconds};
        // -Dqache.bench.stop-file=PATH: stop sending once that file exists (a run as long as an
        // event, such as a migration, whose length is not known in advance).
        String stop = System.getProperty("qache.bench.stop-file");
        java.nio.file.Path stopFile = stop == null ? null : java.nio.file.Path.of(stop);
        // -Dqache.bench.recording-file=PATH: created once the warm-up is over, so a script can
        // start the event it measures (a migration) when recording starts, not while this JVM warms up.
        String recording = System.getProperty("qache.bench.recording-file");
        boolean[] recordingMarked = {recording == null};
        long intervalNanos = 1_000_000_000L / rate;
        CountDownLatch finished = new CountDownLatch(1);
        long[] counts = new long[2]; // sent, done: touched only on the event loop
        long start = System.nanoTime();
        vertx.runOnContext(ignored -> vertx.setPeriodic(1, id -> {
            long now = System.nanoTime();
            if (stopFile != null && java.nio.file.Files.exists(stopFile) && counts[0] < totalHolder[0]) {
                totalHolder[0] = Math.max(counts[0], 1);
                if (counts[1] >= totalHolder[0]) {
                    vertx.cancelTimer(id);
                    finished.countDown();
                    return;
                }
            }
            long total = totalHolder[0];
            while (counts[0] < total && start + counts[0] * intervalNanos <= now) {
                boolean recorded = counts[0] >= warmup;
                if (recorded && !recordingMarked[0]) {
                    recordingMarked[0] = true;
                    try {
                        java.nio.file.Files.createFile(java.nio.file.Path.of(recording));
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
                long due = start + counts[0]++ * intervalNanos;
                boolean post = postPercent > 0 && ThreadLocalRandom.current().nextInt(100) < postPercent;
                int expected = post ? 204 : 200;
                RequestOptions request = new RequestOptions()
                        .setMethod(post ? HttpMethod.POST : HttpMethod.GET)
                        .setHost(base.getHost())
                        .setPort(base.getPort())
                        .setURI(uris[ThreadLocalRandom.current().nextInt(keys)])
                        .setIdleTimeout(5_000);
                long sent = System.nanoTime();
                client.request(request)
                        .compose(r -> post
                                ? r.putHeader("Content-Type", "application/json")
                                        .send(body)
                                : r.send())
                        .compose(r -> r.body().map(b -> {
                            if (r.statusCode() != expected && errors.get() < 20) {
                                // The first failures are told on stderr: what a failed request got.
                                System.err.printf(
                                        "failed: %s %s: %d %s%n",
                                        request.getMethod(),
                                        request.getURI(),
                                        r.statusCode(),
                                        b.toString().substring(0, Math.min(300, b.length())));
                            }
                            return r.statusCode();
                        }))
                        .onComplete(result -> {
                            long end = System.nanoTime();
                            boolean failed = result.failed() || result.result() != expected;
                            if (result.failed() && errors.get() < 20) {
                                System.err.printf(
                                        "failed: %s %s: %s%n", request.getMethod(), request.getURI(), result.cause());
                            }
                            if (failed) {
                                errors.incrementAndGet();
                            } else if (recorded) {
                                fromDue.recordValue(Math.max(1, (end - due) / 1_000));
                                fromSend.recordValue(Math.max(1, (end - sent) / 1_000));
                            }
                            if (timeline != null && recorded) {
                                // By the second the request was due in, counted from the end of warm-up.
                                long at = (due - start) / 1_000_000_000L - warmupSeconds;
                                if (failed) {
                                    errorsPerSecond.computeIfAbsent(at, k -> new long[1])[0]++;
                                } else {
                                    perSecond
                                            .computeIfAbsent(at, k -> new Histogram(3))
                                            .recordValue(Math.max(1, (end - due) / 1_000));
                                }
                            }
                            if (++counts[1] == totalHolder[0]) {
                                vertx.cancelTimer(id);
                                finished.countDown();
                            }
                        });
            }
        }));
        if (!finished.await(warmupSeconds + seconds + 60L, TimeUnit.SECONDS)) {
            throw new IllegalStateException("requests still outstanding after the run");
        }
        vertx.close();
        if (timeline != null) {
            perSecond.forEach((at, h) -> timeline.printf(
                    "%d %d %d %d %d %d%n",
                    at,
                    h.getTotalCount(),
                    errorsPerSecond.getOrDefault(at, new long[1])[0],
                    h.getValueAtPercentile(50),
                    h.getValueAtPercentile(99),
                    h.getMaxValue()));
            timeline.close();
        }
        System.out.printf(
                "requests %d errors %d p50_us %d p90_us %d p99_us %d max_us %d"
                        + " sent_p50_us %d sent_p90_us %d sent_p99_us %d sent_max_us %d%n",
                totalHolder[0],
                errors.get(),
                fromDue.getValueAtPercentile(50),
                fromDue.getValueAtPercentile(90),
                fromDue.getValueAtPercentile(99),
                fromDue.getMaxValue(),
                fromSend.getValueAtPercentile(50),
                fromSend.getValueAtPercentile(90),
                fromSend.getValueAtPercentile(99),
                fromSend.getMaxValue());
    }
}
