package dev.qache.node.security;

import dev.qache.edge.ClusterTls;
import dev.qache.edge.TokenGuard;
import dev.qache.edge.TokenMetrics;
import dev.qache.node.config.ClusterConfig;
import dev.qache.node.config.DataConfig;
import dev.qache.node.config.SecurityConfig;
import dev.qache.protocol.Problems;
import dev.qache.protocol.auth.BearerTokens;
import dev.qache.protocol.auth.TokenSource;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.tls.TlsConfigurationRegistry;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * The node's tokens and the guards made from them (docs/API.md, "Security").
 *
 * <ul>
 *   <li>Internal calls ({@code /_internal/...}: map pushes, status, replication, slot transfer)
 *       need a cluster token. A node without one refuses them all with {@code 403}: it cannot be
 *       part of a cluster, but still serves the data API.
 *   <li>Data calls need a data token or a cluster token (the router forwards with its cluster
 *       token) when {@code qache.data.tokens} is set; otherwise they are open.
 *   <li>Health and metrics ({@code /q/...}) stay open.
 * </ul>
 *
 * <p>Every protected route is made here, with its guard as its first handler, so a route cannot be
 * added without one.
 */
@Singleton
public class Credentials {

    private static final Logger LOG = Logger.getLogger(Credentials.class);

    private final TokenSource cluster;
    private final TokenSource data;
    private final TokenGuard internalGuard;
    private final TokenGuard dataGuard;

    Credentials(ClusterConfig clusterConfig, DataConfig dataConfig, SecurityConfig security, MeterRegistry registry) {
        this.cluster = TokenSource.of("qache.cluster.token", clusterConfig.token(), clusterConfig.tokenFile())
                .watch(security.reloadInterval(), LOG::info, LOG::warn);
        this.data = TokenSource.of("qache.data.tokens", dataConfig.tokens(), dataConfig.tokensFile())
                .watch(security.reloadInterval(), LOG::info, LOG::warn);
        this.internalGuard = new TokenGuard(
                List.of(cluster::current), "qache-cluster", "Authorization: Bearer <qache.cluster.token>");
        this.dataGuard = new TokenGuard(
                List.of(data::current, cluster::current), "qache-data", "Authorization: Bearer <qache.data.tokens>");
        TokenMetrics.register(registry, cluster, data);
    }

    /** {@code Bearer <first cluster token>}, for this node's own internal calls to other nodes. */
    public String clusterAuthorization() {
        BearerTokens tokens = cluster.current();
        return tokens.isEmpty() ? "" : tokens.authorization();
    }

    /** Whether data calls need a token (decided at start: a token file never becomes empty). */
    public boolean dataIsProtected() {
        return !data.current().isEmpty();
    }

    /** A route for an internal call: a cluster token is checked before {@code handler}-s run. */
    public Route internal(Router router, HttpMethod method, String path) {
        Route route = router.route(method, path);
        if (cluster.current().isEmpty()) {
            return route.handler(ctx -> {
                ctx.response().headers().set(HttpHeaders.CONTENT_TYPE, Problems.MEDIA_TYPE);
                ctx.response()
                        .setStatusCode(403)
                        .end(Buffer.buffer(Problems.body(
                                403,
                                "forbidden",
                                "Forbidden",
                                "this node has no qache.cluster.token, so it accepts no internal calls")));
            });
        }
        return route.handler(internalGuard);
    }

    /**
     * A route for an internal call with a body of at most {@code bodyLimitBytes}: the token is
     * checked before the body is read. (Vert.x takes no handler ahead of a body handler within one
     * route, so the check is a route of its own, registered first; the returned route is reached
     * only through it.)
     */
    public Route internalWithBody(Router router, HttpMethod method, String path, long bodyLimitBytes) {
        internal(router, method, path); // the guard's next() leads to the route below
        return router.route(method, path).handler(BodyHandler.create(false).setBodyLimit(bodyLimitBytes));
    }

    /** Puts the data-token check first on a data route, when data tokens are set; else leaves it open. */
    public Route data(Route route) {
        return dataIsProtected() ? route.handler(dataGuard) : route;
    }

    /** TLS for this node's calls to other nodes (replication, slot transfer). */
    @Produces
    @Singleton
    static ClusterTls clusterTls(ClusterConfig config, TlsConfigurationRegistry registry) {
        return ClusterTls.of(config.tlsConfigurationName(), registry);
    }

    @PreDestroy
    void stop() {
        cluster.close();
        data.close();
    }
}
