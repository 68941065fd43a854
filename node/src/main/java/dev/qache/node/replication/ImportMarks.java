package dev.qache.node.replication;

/**
 * What a migration's target remembers about the slots it imports (the keys removed there since
 * each began importing), as replication carries it: a primary sends it to a replica at the start
 * of a full sync, since the snapshot holds the store but not these marks, and a replica promoted
 * before the migration ends needs them so that a copy never brings back a key removed on its old
 * primary. Implemented by the migration's {@code ImportTracker}; kept here so that replication
 * does not depend on migration.
 */
public interface ImportMarks {

    /** Receives one importing slot's marks. */
    @FunctionalInterface
    interface Visitor {
        /**
         * @param overflowed every key of the slot counts as removed
         * @param hashes the removed keys' hashes
         */
        void visit(int slot, boolean overflowed, long[] hashes);
    }

    /** Marks nothing: for a node that takes no part in migrations (tests). */
    ImportMarks NONE = new ImportMarks() {
        @Override
        public void forEach(Visitor visitor) {}

        @Override
        public void restore(int slot, boolean overflowed, long[] hashes) {}
    };

    /** Visits every importing slot that has marks. */
    void forEach(Visitor visitor);

    /** Adds marks a primary sent (on a replica in a full sync). */
    void restore(int slot, boolean overflowed, long[] hashes);
}
