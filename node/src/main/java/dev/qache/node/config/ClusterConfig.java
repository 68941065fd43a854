package dev.qache.node.config;

import io.smallrye.config.ConfigMapping;
import java.util.Optional;

/** {@code qache.cluster.token}: the bearer token of router-to-node and node-to-node calls. */
@ConfigMapping(prefix = "qache.cluster")
public interface ClusterConfig {

    /** Without one, the node refuses every internal call (it still serves the data API). */
    Optional<String> token();
}
