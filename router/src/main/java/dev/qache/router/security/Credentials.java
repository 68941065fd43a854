package dev.qache.router.security;

import dev.qache.edge.ClusterTls;
import dev.qache.edge.TokenGuard;
import dev.qache.edge.TokenMetrics;
import dev.qache.protocol.auth.BearerTokens;
import dev.qache.protocol.auth.TokenSource;
import dev.qache.router.config.AdminConfig;
import dev.qache.router.config.ClusterConfig;
import dev.qache.router.config.DataConfig;
import dev.qache.router.config.SecurityConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.tls.TlsConfigurationRegistry;
import io.vertx.ext.web.Route;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * The router's tokens (docs/API.md, "Security"):
 *
 * <ul>
 *   <li>admin tokens: the admin API, through Quarkus Security ({@link AdminTokenMechanism},
 *       {@code @RolesAllowed} on the resource);
 *   <li>cluster tokens: sent (the first) on every call to a node, data calls included, so nodes
 *       with data tokens of their own take the router's forwarded calls;
 *   <li>data tokens, optional: checked by the first handler of every data route.
 * </ul>
 *
 * Each setting takes several tokens, or a file of them that is read again while the router runs.
 */
@Singleton
public class Credentials {

    private static final Logger LOG = Logger.getLogger(Credentials.class);

    private final TokenSource admin;
    private final TokenSource cluster;
    private final TokenSource data;
    private final TokenGuard dataGuard;

    Credentials(
            AdminConfig adminConfig,
            ClusterConfig clusterConfig,
            DataConfig dataConfig,
            SecurityConfig security,
            MeterRegistry registry) {
        this.admin = required(TokenSource.of("qache.admin.token", adminConfig.token(), adminConfig.tokenFile()));
        this.cluster =
                required(TokenSource.of("qache.cluster.token", clusterConfig.token(), clusterConfig.tokenFile()));
        this.data = TokenSource.of("qache.data.tokens", dataConfig.tokens(), dataConfig.tokensFile());
        this.dataGuard =
                new TokenGuard(List.of(data::current), "qache-data", "Authorization: Bearer <qache.data.tokens>");
        for (TokenSource source : List.of(admin, cluster, data)) {
            source.watch(security.reloadInterval(), LOG::info, LOG::warn);
        }
        TokenMetrics.register(registry, admin, cluster, data);
    }

    private static TokenSource required(TokenSource source) {
        if (source.current().isEmpty()) {
            throw new IllegalStateException(
                    "set " + source.setting() + " (or " + source.setting() + "-file): the router needs one");
        }
        return source;
    }

    /** The admin tokens as they are now. */
    public BearerTokens adminTokens() {
        return admin.current();
    }

    /** The cluster tokens as they are now: nodes present one to ask for a step-down (role {@code node}). */
    public BearerTokens clusterTokens() {
        return cluster.current();
    }

    /** {@code Bearer <first cluster token>}: what every call to a node carries. */
    public String clusterAuthorization() {
        return cluster.current().authorization();
    }

    /** Whether data calls need a token (decided at start: a token file never becomes empty). */
    public boolean dataIsProtected() {
        return !data.current().isEmpty();
    }

    /** Puts the data-token check first on a data route, when data tokens are set; else leaves it open. */
    public Route data(Route route) {
        return dataIsProtected() ? route.handler(dataGuard) : route;
    }

    /** TLS for every call to a node (forwarded calls, probes, map pushes, migration). */
    @Produces
    @Singleton
    static ClusterTls clusterTls(ClusterConfig config, TlsConfigurationRegistry registry) {
        return ClusterTls.of(config.tlsConfigurationName(), registry);
    }

    @PreDestroy
    void stop() {
        admin.close();
        cluster.close();
        data.close();
    }
}
