package dev.qache.edge;

import io.quarkus.tls.TlsConfiguration;
import io.quarkus.tls.TlsConfigurationRegistry;
import io.vertx.core.net.ClientOptionsBase;
import java.util.Optional;

/**
 * TLS for a process's calls to nodes: when {@code qache.cluster.tls-configuration-name} names
 * a TLS registry configuration ({@code quarkus.tls.<name>.*}), every internal client speaks
 * HTTPS or WSS and trusts what that configuration trusts (and presents its key store, if it has
 * one, for servers that ask for client certificates). Unset, internal calls are plain HTTP.
 *
 * <p>Clients take the trust store at start; the server certificates themselves are reloaded by the
 * registry every {@code quarkus.tls.reload-period}.
 */
public final class ClusterTls {

    private final Optional<TlsConfiguration> tls;

    private ClusterTls(Optional<TlsConfiguration> tls) {
        this.tls = tls;
    }

    /**
     * @throws IllegalStateException when {@code name} names no configuration of the registry
     */
    public static ClusterTls of(Optional<String> name, TlsConfigurationRegistry registry) {
        return new ClusterTls(name.map(n -> registry.get(n)
                .orElseThrow(() -> new IllegalStateException("qache.cluster.tls-configuration-name=" + n
                        + " names no TLS configuration: set quarkus.tls." + n + ".trust-store.*"))));
    }

    /** Whether internal calls speak TLS. */
    public boolean enabled() {
        return tls.isPresent();
    }

    /** {@code options} with TLS switched on and this configuration's trust (and keys), when enabled. */
    public <T extends ClientOptionsBase> T apply(T options) {
        tls.ifPresent(config -> {
            options.setSsl(true);
            if (config.isTrustAll()) {
                options.setTrustAll(true);
            } else if (config.getTrustStoreOptions() != null) {
                options.setTrustOptions(config.getTrustStoreOptions());
            }
            if (config.getKeyStoreOptions() != null) {
                options.setKeyCertOptions(config.getKeyStoreOptions());
            }
        });
        return options;
    }
}
