package dev.qache.router.cluster;

import java.util.List;

/**
 * One shard: the node that takes its writes and the nodes that replicate it, each as
 * {@code host:port}.
 */
public record Shard(String id, String primary, List<String> replicas) {

    public Shard {
        if (id == null || id.isBlank()) {
            throw new IllegalArgumentException("a shard needs an id");
        }
        if (primary == null || primary.isBlank()) {
            throw new IllegalArgumentException("shard " + id + " needs a primary");
        }
        replicas = List.copyOf(replicas == null ? List.of() : replicas);
    }
}
