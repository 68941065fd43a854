package dev.qache.router.security;

import dev.qache.protocol.Problems;
import dev.qache.protocol.auth.BearerTokens;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.util.function.Supplier;

/**
 * The first handler of a data route when data tokens are set: the request goes on only with
 * {@code Authorization: Bearer <one of them>}, else a problem+json {@code 401}. Being part of the
 * route's own chain, it runs exactly when that route matched, however the path was spelled.
 */
final class RouteGuard implements Handler<RoutingContext> {

    private static final CharSequence PROBLEM_JSON = HttpHeaders.createOptimized(Problems.MEDIA_TYPE);

    private final Supplier<BearerTokens> accepted;
    private final String challenge;
    private final String hint;

    RouteGuard(Supplier<BearerTokens> accepted, String realm, String hint) {
        this.accepted = accepted;
        this.challenge = "Bearer realm=\"" + realm + "\"";
        this.hint = hint;
    }

    @Override
    public void handle(RoutingContext ctx) {
        String token = BearerTokens.tokenOf(ctx.request().getHeader(HttpHeaders.AUTHORIZATION));
        if (accepted.get().acceptsToken(token)) {
            ctx.next();
            return;
        }
        HttpServerResponse response = ctx.response();
        response.headers().set("WWW-Authenticate", challenge).set(HttpHeaders.CONTENT_TYPE, PROBLEM_JSON);
        response.setStatusCode(401)
                .end(Buffer.buffer(Problems.body(
                        401,
                        "unauthorized",
                        "Unauthorized",
                        token == null ? "send " + hint : "the token is not valid")));
    }
}
