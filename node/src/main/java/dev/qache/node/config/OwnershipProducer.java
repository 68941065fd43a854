package dev.qache.node.config;

import dev.qache.node.cluster.SlotOwnership;
import dev.qache.node.cluster.WriteLease;
import dev.qache.node.cluster.WritePause;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/** The node's single view of which slots it serves, and its write lease as a primary. */
@Singleton
public class OwnershipProducer {

    private final SlotOwnership ownership = new SlotOwnership();
    private final WriteLease lease = new WriteLease();
    private final WritePause pause = new WritePause();

    @Produces
    @Singleton
    SlotOwnership ownership() {
        return ownership;
    }

    @Produces
    @Singleton
    WriteLease lease() {
        return lease;
    }

    @Produces
    @Singleton
    WritePause pause() {
        return pause;
    }
}
