package dev.qache.router.security;

import dev.qache.protocol.auth.BearerTokens;
import dev.qache.protocol.auth.TokenSource;
import dev.qache.router.config.AdminConfig;
import dev.qache.router.config.ClusterConfig;
import dev.qache.router.config.DataConfig;
import dev.qache.router.config.SecurityConfig;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.ext.web.Route;
import jakarta.annotation.PreDestroy;
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
    private final RouteGuard dataGuard;

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
        this.dataGuard = new RouteGuard(data::current, "qache-data", "Authorization: Bearer <qache.data.tokens>");
        for (TokenSource source : List.of(admin, cluster, data)) {
            source.watch(security.reloadInterval(), LOG::info, LOG::warn);
            FunctionCounter.builder("qache.security.token.reloads", source, TokenSource::reloads)
                    .description("Times a token file was read and gave other tokens")
                    .tag("setting", source.setting())
                    .register(registry);
            FunctionCounter.builder("qache.security.token.reload.failures", source, TokenSource::failures)
                    .description("Times a token file could not be read or held no token (the tokens stayed)")
                    .tag("setting", source.setting())
                    .register(registry);
        }
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

    @PreDestroy
    void stop() {
        admin.close();
        cluster.close();
        data.close();
    }
}
