package dev.qache.node.replication;

/** Header names of the replication handshake, sent by the replica when it connects. */
final class Handshake {

    static final String EPOCH = "Qache-Epoch";
    static final String REPLICATION_ID = "Qache-Replication-Id";
    static final String OFFSET = "Qache-Replication-Offset";
    static final String REPLICA = "Qache-Replica";

    private Handshake() {}
}
