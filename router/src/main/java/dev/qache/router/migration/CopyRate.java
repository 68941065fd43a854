package dev.qache.router.migration;

import java.util.Arrays;

/**
 * How fast a migration copies, adapted to what its clients feel (pure; the runner feeds it one
 * window of the router's client latency at a time). Outside migrations, each window's p99 joins the
 * <em>baseline</em>: the 90th percentile of the last {@value #BASELINE_WINDOWS} windows' p99s (so
 * the ordinary noise of a window is within it). A copy starts slow ({@code startRate}: its code
 * paths are still cold on every process it involves), then each window the rate grows by a quarter
 * while the p99 stays within the target ({@code factor} times the baseline, never below {@code
 * floorMicros}) and falls by 30% while it is above, between {@code minRate} and {@code maxRate}:
 * the increase-and-back-off TCP uses to share a link. A window with fewer than {@value
 * #MIN_REQUESTS} requests says nothing about latency: the rate grows.
 */
public final class CopyRate {

    /** Windows of steady traffic the baseline is the median of. */
    static final int BASELINE_WINDOWS = 20;

    /** Fewest requests in a window for its p99 to count. */
    static final long MIN_REQUESTS = 20;

    public record Settings(long maxRate, long startRate, long minRate, double factor, long floorMicros) {
        public Settings {
            if (minRate < 1 || startRate < minRate || maxRate < startRate || factor < 1 || floorMicros < 0) {
                throw new IllegalArgumentException(
                        "copy rates must satisfy 0 < min <= start <= max, the latency factor must be >= 1: " + this);
            }
        }
    }

    private final Settings settings;
    private final long[] baseline = new long[BASELINE_WINDOWS];
    private int baselineCount;
    private int baselineNext;
    private long rate;

    public CopyRate(Settings settings) {
        this.settings = settings;
        this.rate = settings.startRate();
    }

    /** A window of client traffic while no copy runs: part of the baseline when it has enough requests. */
    public void steady(long requests, long p99Micros) {
        if (requests < MIN_REQUESTS) {
            return;
        }
        baseline[baselineNext] = p99Micros;
        baselineNext = (baselineNext + 1) % BASELINE_WINDOWS;
        baselineCount = Math.min(baselineCount + 1, BASELINE_WINDOWS);
    }

    /** A copy begins: its first rate. */
    public long start() {
        rate = settings.startRate();
        return rate;
    }

    /** A window of client traffic during the copy: the rate for the next one. */
    public long during(long requests, long p99Micros) {
        if (requests >= MIN_REQUESTS && p99Micros > targetMicros()) {
            rate = Math.max(settings.minRate(), rate * 7 / 10);
        } else {
            rate = Math.min(settings.maxRate(), rate + Math.max(rate / 4, settings.minRate()));
        }
        return rate;
    }

    /** The p99 a copy keeps to: the factor times the baseline, at least the floor. */
    public long targetMicros() {
        if (baselineCount == 0) {
            return settings.floorMicros();
        }
        long[] sorted = Arrays.copyOf(baseline, baselineCount);
        Arrays.sort(sorted);
        long p90 = sorted[(baselineCount - 1) * 9 / 10];
        return Math.max(settings.floorMicros(), (long) (p90 * settings.factor()));
    }

    public long rate() {
        return rate;
    }
}
