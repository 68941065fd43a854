package dev.qache.protocol;

/**
 * Headers by which the router fences nodes (DESIGN.md, "Fencing and promotion"; the steps are in
 * docs/ARCHITECTURE.md).
 *
 * <ul>
 *   <li>{@link #EPOCH} on every forwarded data call: the epoch of the map the router routed it
 *       by. A node whose map is older applies no write under it and answers {@code 421} with
 *       {@link #REFUSED} {@code stale-map}.
 *   <li>{@link #LEASE_MILLIS}, {@link #LEASE_NONCE}, {@link #LEASE_EPOCH} and {@link
 *       #LEASE_HISTORY} on a probe or on the map handed to a promoted node: a write lease for that
 *       long from when the node issued the nonce (in an earlier status answer), valid only at that
 *       epoch and for that replication history ({@code *}: any). A primary without a running lease
 *       answers writes with {@code 503} and {@link #REFUSED} {@code write-lease-lapsed}.
 *   <li>{@link #REFUSED} on a node's answer: the call was refused before anything was applied,
 *       so the router may send it again once it knows where (a write is never sent twice
 *       otherwise).
 * </ul>
 */
public final class Fencing {

    public static final String EPOCH = "Qache-Epoch";
    public static final String LEASE_MILLIS = "Qache-Lease-Millis";
    public static final String LEASE_EPOCH = "Qache-Lease-Epoch";
    public static final String LEASE_HISTORY = "Qache-Lease-History";

    /** A {@link #LEASE_HISTORY} that matches any: a node just promoted, or the primary of a shard being added. */
    public static final String ANY_HISTORY = "*";

    public static final String LEASE_NONCE = "Qache-Lease-Nonce";
    public static final String REFUSED = "Qache-Refused";

    /** {@link #REFUSED}: the node's map is older than the request's epoch. */
    public static final String STALE_MAP = "stale-map";

    /** {@link #REFUSED}: the primary's write lease is not running. */
    public static final String LEASE_LAPSED = "write-lease-lapsed";

    /** {@link #REFUSED}: the primary is handing its shard to a replica and takes no write meanwhile. */
    public static final String PAUSED = "paused";

    /**
     * {@link #REFUSED}: a replica in a full sync holds only part of its primary's keys and answers
     * no read (503); another node of the shard may.
     */
    public static final String SYNCING = "syncing";

    /** {@link #REFUSED}: the node does not take this call (its 421 names who does). */
    public static final String MISDIRECTED = "misdirected";

    private Fencing() {}

    /** The epoch in a request's {@link #EPOCH} header, or -1 when absent or not a number. */
    public static long epochOf(String header) {
        return numberOf(header);
    }

    /** A header's non-negative number, or -1 when absent or not a number. */
    public static long numberOf(String header) {
        if (header == null) {
            return -1;
        }
        try {
            return Long.parseLong(header.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
