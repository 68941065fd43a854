package dev.qache.edge;

import dev.qache.protocol.Problems;
import dev.qache.protocol.auth.BearerTokens;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.function.Supplier;

/**
 * The first handler of a protected route: the request goes on only with {@code Authorization:
 * Bearer <token>} for one of the token sets it was given, else a problem+json {@code 401}.
 *
 * <p>The guard is part of each route's own chain, so it runs exactly when that route matched,
 * whatever the request path looked like before Vert.x normalised it: there is no prefix test on
 * the raw path to walk around (docs/ARCHITECTURE.md, "Authorization").
 */
public final class TokenGuard implements Handler<RoutingContext> {

    private static final CharSequence PROBLEM_JSON = HttpHeaders.createOptimized(Problems.MEDIA_TYPE);

    private final List<Supplier<BearerTokens>> accepted;
    private final String challenge;
    private final String hint;

    /**
     * @param accepted the token sets, read at each request (a reloaded file takes effect at once)
     * @param realm named in {@code WWW-Authenticate}
     * @param hint what the 401 says to send, naming the setting, never a token
     */
    public TokenGuard(List<Supplier<BearerTokens>> accepted, String realm, String hint) {
        this.accepted = List.copyOf(accepted);
        this.challenge = "Bearer realm=\"" + realm + "\"";
        this.hint = hint;
    }

    @Override
    public void handle(RoutingContext ctx) {
        String token = BearerTokens.tokenOf(ctx.request().getHeader(HttpHeaders.AUTHORIZATION));
        boolean ok = false;
        for (Supplier<BearerTokens> tokens : accepted) {
            ok |= tokens.get().acceptsToken(token);
        }
        if (ok) {
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
