package dev.qache.router.admin;

import dev.qache.edge.ClusterTls;
import dev.qache.protocol.Problems;
import dev.qache.router.config.RouterConfig;
import dev.qache.router.control.ControlPlane;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.RequestOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Admin writes on a follower are carried out by the routers' leader: only the leader decides
 * promotions (it alone knows which write leases it granted), runs migrations and pushes maps, so a
 * follower sends a {@code POST}, {@code PUT}, {@code PATCH} or {@code DELETE} under {@code /admin}
 * on to the leader's URL ({@code qache.router.peer-urls}) and relays its answer, with {@code
 * Qache-Router-Leader} naming who answered. Authorization is the leader's to check: the request's
 * headers travel with it. A request already forwarded once is not forwarded again (leadership
 * moved while it travelled): 503 {@code not-leader}, as when no leader is known or its URL is not
 * configured; the client may send it again, to this router or another. Admin reads are answered
 * locally, from this router's applied state.
 */
@ApplicationScoped
public class LeaderForwarding {

    private static final Logger LOG = Logger.getLogger(LeaderForwarding.class);

    /** Set on a forwarded request: it is not forwarded again. */
    static final String FORWARDED_BY = "Qache-Forwarded-By";

    /** On every answer to a forwarded request: the router that carried it out. */
    static final String LEADER = "Qache-Router-Leader";

    /** An admin write may wait for a replica to catch up and for pushes: generous, but bounded. */
    private static final long TIMEOUT_MILLIS = 30_000;

    private static final List<CharSequence> CARRIED = List.of(
            HttpHeaders.AUTHORIZATION, HttpHeaders.CONTENT_TYPE, HttpHeaders.ACCEPT, HttpHeaders.CONTENT_LENGTH);

    private final ControlPlane plane;
    private final Map<String, URI> urls;
    private final HttpClient client;

    LeaderForwarding(ControlPlane plane, RouterConfig config, ClusterTls tls, Vertx vertx) {
        this.plane = plane;
        this.urls = peerUrls(config.peerUrls());
        this.client = vertx.createHttpClient(
                tls.apply(new HttpClientOptions().setKeepAlive(true).setConnectTimeout(2_000)));
    }

    /** {@code id=url} entries by id; a malformed one stops the router at start. */
    static Map<String, URI> peerUrls(Optional<List<String>> entries) {
        Map<String, URI> urls = new java.util.LinkedHashMap<>();
        for (String entry : entries.orElse(List.of())) {
            int eq = entry.indexOf('=');
            URI url = eq <= 0 ? null : URI.create(entry.substring(eq + 1).trim());
            if (url == null
                    || url.getHost() == null
                    || url.getPort() <= 0
                    || !("http".equals(url.getScheme()) || "https".equals(url.getScheme()))) {
                throw new IllegalArgumentException(
                        "qache.router.peer-urls: each entry is id=http(s)://host:port, got '" + entry + "'");
            }
            urls.put(entry.substring(0, eq).trim(), url);
        }
        return Map.copyOf(urls);
    }

    void register(@Observes Router router) {
        router.route("/admin/*").handler(this::route);
    }

    private void route(RoutingContext ctx) {
        HttpMethod method = ctx.request().method();
        if (method == HttpMethod.GET || method == HttpMethod.HEAD || method == HttpMethod.OPTIONS || plane.leads()) {
            ctx.next();
            return;
        }
        String self = plane.group().self();
        Optional<String> leader = plane.group().leader().filter(id -> !id.equals(self));
        if (ctx.request().getHeader(FORWARDED_BY) != null || leader.isEmpty()) {
            notLeader(
                    ctx.response(),
                    "router " + self + " does not lead the routers' group"
                            + (leader.isEmpty() ? " and knows no leader now" : ", and the request was forwarded to it")
                            + ": send the request again shortly");
            return;
        }
        URI url = urls.get(leader.get());
        if (url == null) {
            notLeader(
                    ctx.response(),
                    "router " + self + " does not lead the routers' group; router " + leader.get() + " does, and"
                            + " qache.router.peer-urls names no URL for it: send admin writes there");
            return;
        }
        // The router holds a request paused until a handler reads it: read the body now.
        ctx.request().resume();
        ctx.request().body().onComplete(read -> {
            if (read.failed()) {
                ctx.fail(read.cause());
                return;
            }
            forward(ctx, method, url, leader.get(), self, read.result());
        });
    }

    private void forward(RoutingContext ctx, HttpMethod method, URI url, String leader, String self, Buffer body) {
        RequestOptions request = new RequestOptions()
                .setMethod(method)
                .setHost(url.getHost())
                .setPort(url.getPort())
                .setSsl("https".equals(url.getScheme()))
                .setURI(ctx.request().uri())
                .setIdleTimeout(TIMEOUT_MILLIS)
                .putHeader(FORWARDED_BY, self);
        for (CharSequence name : CARRIED) {
            String value = ctx.request().getHeader(name);
            if (value != null) {
                request.putHeader(name, value);
            }
        }
        client.request(request)
                .compose(r -> r.send(body))
                .compose(response -> response.body().map(bytes -> {
                    HttpServerResponse out = ctx.response().setStatusCode(response.statusCode());
                    for (String name : List.of("Content-Type", "Retry-After", "Location", "WWW-Authenticate")) {
                        String value = response.getHeader(name);
                        if (value != null) {
                            out.putHeader(name, value);
                        }
                    }
                    out.putHeader(LEADER, leader).end(bytes);
                    return bytes;
                }))
                .onFailure(e -> {
                    LOG.infof(
                            "forwarding %s %s to the leader %s failed: %s",
                            method, ctx.request().uri(), leader, e);
                    if (!ctx.response().ended()) {
                        notLeader(
                                ctx.response(),
                                "router " + self + " does not lead the routers' group, and the leader " + leader
                                        + " did not answer (" + e.getMessage() + "): whether it carried the"
                                        + " request out is not known; read /admin/cluster before sending it again");
                    }
                });
    }

    private static void notLeader(HttpServerResponse response, String detail) {
        response.putHeader("Retry-After", "1")
                .putHeader(HttpHeaders.CONTENT_TYPE, Problems.MEDIA_TYPE)
                .setStatusCode(503)
                .end(Buffer.buffer(Problems.body(503, "not-leader", "Service Unavailable", detail)));
    }
}
