package dev.qache.router.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/** Router-to-node settings, under {@code qache.cluster}. */
@ConfigMapping(prefix = "qache.cluster")
public interface ClusterConfig {

    /** Bearer token of router-to-node calls; the nodes must have the same. Required. */
    String token();

    /** How often the router pushes the current map to every node, whether or not it changed. */
    @WithDefault("2s")
    Duration mapPushInterval();
}
