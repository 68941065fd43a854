package dev.qache.router.admin;

import dev.qache.protocol.Problems;
import dev.qache.router.config.AdminConfig;
import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/** Every {@code /admin} call needs {@code Authorization: Bearer <qache.admin.token>}, else 401. */
public class AdminTokenFilter {

    private final byte[] expected;

    AdminTokenFilter(AdminConfig config) {
        this.expected = ("Bearer " + config.token()).getBytes(StandardCharsets.UTF_8);
    }

    @ServerRequestFilter(preMatching = true)
    public Response check(HttpServerRequest request) {
        if (!request.path().startsWith("/admin")) {
            return null;
        }
        String given = request.getHeader(HttpHeaders.AUTHORIZATION);
        // Constant-time comparison: the time taken must not reveal how much of a guess was right.
        if (given != null && MessageDigest.isEqual(expected, given.getBytes(StandardCharsets.UTF_8))) {
            return null;
        }
        return Response.status(401)
                .header(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"qache-admin\"")
                .type(Problems.MEDIA_TYPE)
                .entity(Problems.body(
                        401,
                        "unauthorized",
                        "Unauthorized",
                        given == null ? "send Authorization: Bearer <qache.admin.token>" : "the admin token is wrong"))
                .build();
    }
}
