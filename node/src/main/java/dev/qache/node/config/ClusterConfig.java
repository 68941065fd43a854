package dev.qache.node.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithName;
import java.nio.file.Path;
import java.util.Optional;

/**
 * {@code qache.cluster.token}: the bearer tokens of router-to-node and node-to-node calls, comma
 * separated (any is accepted, the first is sent), or {@code qache.cluster.token-file} naming a
 * file that holds them and is read again while the node runs.
 */
@ConfigMapping(prefix = "qache.cluster")
public interface ClusterConfig {

    /** Without one (and without a file), the node refuses every internal call (it still serves the data API). */
    Optional<String> token();

    @WithName("token-file")
    Optional<Path> tokenFile();

    /**
     * A TLS registry configuration ({@code quarkus.tls.<name>.*}) for calls to nodes: when set,
     * they use HTTPS (replication WSS) and trust what it trusts; unset, plain HTTP.
     */
    @WithName("tls-configuration-name")
    Optional<String> tlsConfigurationName();
}
