package dev.qache.protocol;

/**
 * Names of a migration's copy protocol between router and nodes (DESIGN.md, Wave 2, "Migration").
 *
 * <p>The router asks a slot's target primary to import it: {@code POST
 * /_internal/slots/{slot}/import?from=host:port&attempt=n}. The target pulls the slot from the
 * source in chunks, {@code GET /_internal/slots/{slot}?from=<key hash>&max-bytes=<n>}, each answer
 * naming the key hash to continue from in {@link #NEXT} (absent after the last chunk), and answers
 * {@code {"keys", "bytes", "attempt", "replicationId", "offset"}}: the offset after its last write
 * of the copy, which the target's replicas must reach before the map flips.
 */
public final class SlotCopy {

    /** Header of a chunk: the key hash (unsigned decimal) the next chunk starts at. */
    public static final String NEXT = "Qache-Next";

    /**
     * Header of a 404 from a node whose shard imports the key's slot, when the node cannot tell
     * that the key is gone: value {@link #PENDING}. The key may then still be on the source, which
     * the router asks next. A 404 without it is final: the key changed on the target (written and
     * then deleted, expired or evicted), or the slot's copy is complete there.
     */
    public static final String IMPORT = "Qache-Import";

    public static final String PENDING = "pending";

    private SlotCopy() {}
}
