package dev.qache.node.cluster;

/**
 * A primary's permission to take writes, granted by the router and measured on this node's
 * monotonic clock: a write is applied only while the lease runs.
 *
 * <p>Every status answer carries a nonce this node issued ({@link #issue}); the router's next probe
 * grants the lease by naming that nonce, and the lease runs from when the nonce was issued. The
 * router cannot have sent the grant before it read the nonce, so the lease ends on this node
 * before the grant's send time plus its duration on the router: the router promotes a replacement
 * only after that, however long the grant spent in the network (a grant delivered late, after a
 * partition heals, grants a lease already over).
 *
 * <p>A grant is also bound to the epoch of the router's map and to the replication history it saw
 * this node stream: a node restarted empty has a new history, so a router that still believes in
 * the old one grants it nothing. So a primary that was paused or cut off and comes back refuses
 * the writes queued in its sockets instead of acknowledging them after it was replaced.
 *
 * <p>Pure: time is passed in. Thread-safe: issuing and granting are serialised, reads take no lock.
 */
public final class WriteLease {

    /** A grant's history that matches any: the router has just promoted this node. */
    public static final String ANY_HISTORY = dev.qache.protocol.Fencing.ANY_HISTORY;

    /** Nonces remembered: a grant must name one of the last this many (each probe reads one). */
    private static final int NONCES = 16;

    /** The lease in force; replaced whole, so {@link #valid} reads it without a lock. */
    private volatile Grant current = new Grant(-1, 0, false);

    private record Grant(long epoch, long untilNanos, boolean granted) {}

    /** Guarded by this: the last nonces issued, with when, in a ring. */
    private final long[] nonces = new long[NONCES];

    private final long[] issuedNanos = new long[NONCES];
    private long nextNonce = new java.security.SecureRandom().nextLong() & Long.MAX_VALUE;
    private int issued;

    /** A nonce for a status answer, issued at {@code nowNanos}. */
    public synchronized long issue(long nowNanos) {
        long nonce = nextNonce++;
        int at = issued++ % NONCES;
        nonces[at] = nonce;
        issuedNanos[at] = nowNanos;
        return nonce;
    }

    /**
     * Records a grant of {@code durationMillis}, counted from when {@code nonce} was issued, for
     * {@code grantEpoch} and {@code history}; returns whether it was taken (the nonce is one of the
     * last issued, the node is at that epoch and streams that history). A grant never shortens
     * the lease in force at the same epoch.
     */
    public synchronized boolean grant(
            long nonce,
            long grantEpoch,
            String history,
            long durationMillis,
            long currentEpoch,
            String currentHistory) {
        if (grantEpoch != currentEpoch
                || durationMillis <= 0
                || !(ANY_HISTORY.equals(history) || history.equals(currentHistory))) {
            return false;
        }
        int found = -1;
        for (int i = 0; i < Math.min(issued, NONCES); i++) {
            if (nonces[i] == nonce) {
                found = i;
            }
        }
        if (found < 0) {
            return false;
        }
        Grant was = current;
        long until = issuedNanos[found] + durationMillis * 1_000_000L;
        if (was.granted && was.epoch == grantEpoch && was.untilNanos - until > 0) {
            until = was.untilNanos;
        }
        current = new Grant(grantEpoch, until, true);
        return true;
    }

    /**
     * A new map keeps this node primary of its shard: the lease in force at {@code fromEpoch}
     * runs on at {@code toEpoch} (the router's promise not to replace the node is not tied to an
     * epoch; a grant is, so that an old one never applies to a new role).
     */
    public synchronized void carryOver(long fromEpoch, long toEpoch) {
        Grant was = current;
        if (was.granted && was.epoch == fromEpoch) {
            current = new Grant(toEpoch, was.untilNanos, true);
        }
    }

    /** Whether a write may be applied now, at {@code currentEpoch}. */
    public boolean valid(long nowNanos, long currentEpoch) {
        Grant g = current;
        return g.granted && g.epoch == currentEpoch && g.untilNanos - nowNanos > 0;
    }

    /**
     * Whether any lease was granted at {@code currentEpoch}: until then this node, though the map
     * names it primary, serves no replica (a node restarted empty would otherwise make its
     * replicas wipe the data it lost).
     */
    public boolean grantedAt(long currentEpoch) {
        Grant g = current;
        return g.granted && g.epoch == currentEpoch;
    }

    /** Milliseconds left at {@code nowNanos}, 0 when lapsed or for another epoch. */
    public long remainingMillis(long nowNanos, long currentEpoch) {
        Grant g = current;
        if (!g.granted || g.epoch != currentEpoch) {
            return 0;
        }
        return Math.max(0, (g.untilNanos - nowNanos) / 1_000_000L);
    }
}
