package dev.qache.router.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/** Router-to-node settings, under {@code qache.cluster}. */
@ConfigMapping(prefix = "qache.cluster")
public interface ClusterConfig {

    /**
     * Bearer tokens of router-to-node calls, comma separated: the router sends the first, the nodes
     * accept any of theirs. This or {@link #tokenFile()} is required.
     */
    Optional<String> token();

    /** A file holding the cluster tokens, read again while the router runs (rotation). */
    @WithName("token-file")
    Optional<Path> tokenFile();

    /**
     * A TLS registry configuration ({@code quarkus.tls.<name>.*}) for calls to nodes: when set,
     * they use HTTPS (replication WSS) and trust what it trusts; unset, plain HTTP.
     */
    @WithName("tls-configuration-name")
    Optional<String> tlsConfigurationName();

    /** How often the router pushes the current map to every node, whether or not it changed. */
    @WithDefault("2s")
    Duration mapPushInterval();
}
