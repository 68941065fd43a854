package dev.qache.node.store;

/** Receives the entries a {@link Store#scan} visits. */
@FunctionalInterface
public interface EntryVisitor {

    /**
     * One live entry: {@code entry} is the store's own array {@code [keyLength][key][value]}, never
     * modified afterwards and not to be modified by the visitor.
     */
    void visit(byte[] entry, long expireAtMillis);
}
