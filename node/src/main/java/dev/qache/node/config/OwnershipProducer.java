package dev.qache.node.config;

import dev.qache.node.cluster.SlotOwnership;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/** The node's single view of which slots it serves. */
@Singleton
public class OwnershipProducer {

    private final SlotOwnership ownership = new SlotOwnership();

    @Produces
    @Singleton
    SlotOwnership ownership() {
        return ownership;
    }
}
