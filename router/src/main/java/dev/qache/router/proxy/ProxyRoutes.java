package dev.qache.router.proxy;

import dev.qache.edge.Problem;
import dev.qache.protocol.KeyCodec;
import dev.qache.router.config.RouterConfig;
import dev.qache.router.proxy.Forwarder.DataCall;
import dev.qache.router.routing.Routing.Method;
import dev.qache.router.security.Credentials;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

/**
 * The data API's edge on the router: turns each {@code GET/POST/DELETE /{key}} into a {@link
 * DataCall}, hands it to the {@link Forwarder}, and writes back the node's status and body
 * unchanged, or {@code 503} with {@code Retry-After: 1} when no node answered (never a hang).
 * A malformed key or an oversized body gets its problem here, and nothing is forwarded.
 *
 * <p>Under failure (carried out by the Forwarder, decided by {@code Routing}): every forwarded
 * call is bounded by {@code qache.router.forward-timeout}; a GET that fails is retried ({@code
 * get-retries}); a write is sent again only when the router knows it was not applied, until the
 * forward timeout from when the request arrived. Every call carries the epoch of the router's map
 * ({@code Qache-Epoch}). All of it runs on the event loop that received the request.
 */
@Singleton
public class ProxyRoutes {

    private static final String KEY_PATH = "^/[^/]+$";

    /**
     * Data routes run ahead of Quarkus' own filters (CORS at -300, authentication at -200,
     * authorization at -100, the upload limit at -2) and of the REST layer: they carry their own
     * token guard and body limit, and none of those applies to a key.
     */
    private static final int DATA_ORDER = -1_000;

    private static final int ENVELOPE_BYTES = 64 * 1024;
    private static final CharSequence RETRY_AFTER = HttpHeaders.createOptimized("Retry-After");
    private static final CharSequence[] RELAYED = {HttpHeaders.CONTENT_TYPE, HttpHeaders.ALLOW, RETRY_AFTER};

    private final RouterConfig config;
    private final Credentials credentials;
    private final Forwarder forwarder;

    ProxyRoutes(RouterConfig config, Credentials credentials, Forwarder forwarder) {
        this.config = config;
        this.credentials = credentials;
        this.forwarder = forwarder;
    }

    void register(@Observes Router router) {
        BodyHandler body = BodyHandler.create(false)
                .setBodyLimit(config.maxValueSize().asLongValue() + ENVELOPE_BYTES)
                .setPreallocateBodyBuffer(true);
        // With qache.data.tokens set, each route's first handler checks the token. The POST route
        // checks it before its body is read: the guard is a route of its own, registered first.
        credentials
                .data(router.routeWithRegex(HttpMethod.GET, KEY_PATH).order(DATA_ORDER))
                .handler(this::forward);
        credentials
                .data(router.routeWithRegex(HttpMethod.DELETE, KEY_PATH).order(DATA_ORDER + 1))
                .handler(this::forward);
        if (credentials.dataIsProtected()) {
            credentials.data(router.routeWithRegex(HttpMethod.POST, KEY_PATH).order(DATA_ORDER + 2));
        }
        router.routeWithRegex(HttpMethod.POST, KEY_PATH)
                .order(DATA_ORDER + 3)
                .handler(body)
                .handler(this::forward)
                .failureHandler(ctx -> {
                    if (ctx.response().ended()) {
                        return;
                    }
                    if (ctx.statusCode() == 413) {
                        problem(
                                ctx.response(),
                                413,
                                "value-too-large",
                                "Content Too Large",
                                "the body is too large; the limit is "
                                        + config.maxValueSize().asLongValue() + " bytes");
                    } else {
                        problem(ctx.response(), 500, "internal", "Internal Server Error", "the router failed");
                    }
                });
        router.routeWithRegex(KEY_PATH).handler(ctx -> {
            ctx.response().headers().set(HttpHeaders.ALLOW, "GET, POST, DELETE");
            problem(
                    ctx.response(),
                    405,
                    "method-not-allowed",
                    "Method Not Allowed",
                    ctx.request().method().name() + " is not part of the data API; use GET, POST or DELETE");
        });
        router.route("/")
                .handler(ctx -> problem(
                        ctx.response(),
                        400,
                        "bad-key",
                        "Bad Request",
                        "the key is empty: use /{key} with a key of 1 to " + config.maxKeySize() + " bytes"));
    }

    private void forward(RoutingContext ctx) {
        String requestId = RequestIds.of(ctx.request().getHeader(RequestIds.HEADER));
        ctx.response().putHeader(RequestIds.HEADER, requestId);
        KeyCodec.Key key;
        try {
            key = KeyCodec.decode(ctx.request().path(), config.maxKeySize());
        } catch (KeyCodec.BadKeyException e) {
            problem(ctx.response(), 400, "bad-key", "Bad Request", e.getMessage());
            return;
        }
        HttpMethod httpMethod = ctx.request().method();
        Method method =
                httpMethod == HttpMethod.GET ? Method.GET : httpMethod == HttpMethod.POST ? Method.POST : Method.DELETE;
        HttpServerResponse response = ctx.response();
        DataCall call = new DataCall(
                method,
                key.bytes(),
                ctx.request().uri(),
                ctx.request().getHeader(HttpHeaders.CONTENT_TYPE),
                method == Method.POST ? ctx.body().buffer() : null,
                System.nanoTime(),
                () -> response.ended() || response.closed(),
                requestId);
        forwarder.forward(call).onComplete(result -> {
            if (response.ended() || response.closed()) {
                return;
            }
            if (result.failed()) {
                problem(response, 500, "internal", "Internal Server Error", "the router failed");
            } else if (result.result().answer() != null) {
                relay(response, result.result().answer());
            } else if (result.result().unavailable() != null) {
                unavailable(response, result.result().unavailable());
            }
        });
    }

    private static void relay(HttpServerResponse out, NodeAnswer answer) {
        out.setStatusCode(answer.status());
        for (CharSequence header : RELAYED) {
            String value = answer.header(header);
            if (value != null) {
                out.putHeader(header, value);
            }
        }
        out.end(answer.body());
    }

    private static void unavailable(HttpServerResponse response, String detail) {
        response.putHeader(RETRY_AFTER, "1");
        problem(response, 503, "shard-unavailable", "Service Unavailable", detail);
    }

    private static void problem(HttpServerResponse response, int status, String slug, String title, String detail) {
        Problem.send(response, status, slug, title, detail);
    }
}
