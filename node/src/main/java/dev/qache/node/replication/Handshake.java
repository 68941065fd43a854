package dev.qache.node.replication;

/** Header names of the replication handshake, sent by the replica when it connects. */
final class Handshake {

    static final String EPOCH = "Qache-Epoch";
    static final String REPLICATION_ID = "Qache-Replication-Id";
    static final String OFFSET = "Qache-Replication-Offset";
    static final String REPLICA = "Qache-Replica";
    static final String VERSION = "Qache-Replication-Version";

    /**
     * The replication protocol this node speaks: 2 added heartbeats, the stream during a
     * snapshot, and the version itself (1, unnamed, was Wave 1's); 3 added the import marks sent
     * at the start of a full sync ('M' frames), which a primary sends only to a replica of 3 or
     * more.
     */
    static final int PROTOCOL_VERSION = 3;

    /** The oldest version this node still serves and follows. */
    static final int OLDEST_VERSION = 2;

    /** Whether this node can serve or follow a peer speaking {@code version}. */
    static boolean supported(int version) {
        return version >= OLDEST_VERSION && version <= PROTOCOL_VERSION;
    }

    private Handshake() {}
}
