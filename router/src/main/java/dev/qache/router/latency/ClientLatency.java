package dev.qache.router.latency;

import jakarta.inject.Singleton;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The latency of every client request the router answers, in windows: {@link #record} is
 * wait-free (an HdrHistogram {@link Recorder}), and {@link #window} hands over everything recorded
 * since the last call. A migration reads it to keep its copy from hurting clients (CopyRate).
 */
@Singleton
public class ClientLatency {

    private final Recorder recorder = new Recorder(3);
    private Histogram recycled;

    /** One request took {@code nanos}, from its arrival to its answer. */
    public void record(long nanos) {
        recorder.recordValue(Math.max(1, nanos / 1_000));
    }

    /** What was recorded since the last window, in microseconds; from one thread at a time. */
    public synchronized Histogram window() {
        Histogram interval = recorder.getIntervalHistogram(recycled);
        recycled = interval;
        return interval;
    }
}
