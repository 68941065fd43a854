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
     * snapshot, and the version itself (1, unnamed, was Wave 1's).
     */
    static final int PROTOCOL_VERSION = 2;

    private Handshake() {}
}
