package dev.qache.admin.web;

import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sign-in attempts per client address: a burst of {@code burst} attempts, then one more every
 * {@code refillNanos} (a token bucket). Guessing the admin token through the console is bounded
 * by that rate, whatever else the attacker does. Time is passed in, so tests advance a clock.
 *
 * <p>The table of addresses is bounded: past {@code maxAddresses}, buckets that have refilled
 * completely (nothing to remember) are dropped first, then the whole table is cleared, which only
 * ever errs towards letting an address try again.
 */
final class SignInLimiter {

    /** The outcome of {@link #tryAcquire}: allowed, or refused with the seconds until the next try. */
    record Decision(boolean allowed, long retryAfterSeconds) {}

    private static final class Bucket {
        double available;
        long updatedNanos;

        Bucket(double available, long updatedNanos) {
            this.available = available;
            this.updatedNanos = updatedNanos;
        }
    }

    private final int burst;
    private final long refillNanos;
    private final int maxAddresses;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    SignInLimiter(int burst, long refillNanos, int maxAddresses) {
        if (burst < 1 || refillNanos < 1 || maxAddresses < 1) {
            throw new IllegalArgumentException("burst, refill and table size must be positive");
        }
        this.burst = burst;
        this.refillNanos = refillNanos;
        this.maxAddresses = maxAddresses;
    }

    Decision tryAcquire(String address, long nowNanos) {
        if (buckets.size() >= maxAddresses && !buckets.containsKey(address)) {
            prune(nowNanos);
        }
        Bucket bucket = buckets.computeIfAbsent(address, a -> new Bucket(burst, nowNanos));
        synchronized (bucket) {
            refill(bucket, nowNanos);
            if (bucket.available >= 1) {
                bucket.available -= 1;
                return new Decision(true, 0);
            }
            double missingNanos = (1 - bucket.available) * refillNanos;
            return new Decision(false, Math.max(1, (long) Math.ceil(missingNanos / 1e9)));
        }
    }

    int addresses() {
        return buckets.size();
    }

    private void refill(Bucket bucket, long nowNanos) {
        long elapsed = Math.max(0, nowNanos - bucket.updatedNanos);
        bucket.available = Math.min(burst, bucket.available + (double) elapsed / refillNanos);
        bucket.updatedNanos = nowNanos;
    }

    private void prune(long nowNanos) {
        for (Iterator<Bucket> it = buckets.values().iterator(); it.hasNext(); ) {
            Bucket bucket = it.next();
            synchronized (bucket) {
                refill(bucket, nowNanos);
                if (bucket.available >= burst) {
                    it.remove();
                }
            }
        }
        if (buckets.size() >= maxAddresses) {
            buckets.clear();
        }
    }
}
