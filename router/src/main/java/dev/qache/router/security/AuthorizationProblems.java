package dev.qache.router.security;

import dev.qache.protocol.Problems;
import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.ForbiddenException;
import io.quarkus.security.UnauthorizedException;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * Every refusal of an admin call is a problem+json {@code 401} with a {@code Bearer} challenge,
 * and says nothing about the tokens: no token, a wrong one, or a token that is valid elsewhere
 * (a data or cluster token) read the same apart from the detail.
 */
public class AuthorizationProblems {

    @ServerExceptionMapper
    public Response unauthorized(UnauthorizedException e) {
        return problem("send Authorization: Bearer <qache.admin.token>");
    }

    @ServerExceptionMapper
    public Response authenticationFailed(AuthenticationFailedException e) {
        return problem("the admin token is not valid");
    }

    @ServerExceptionMapper
    public Response forbidden(ForbiddenException e) {
        return problem("this call needs an admin token");
    }

    private static Response problem(String detail) {
        return Response.status(401)
                .header(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"" + AdminTokenMechanism.REALM + "\"")
                .type(Problems.MEDIA_TYPE)
                .entity(Problems.body(401, "unauthorized", "Unauthorized", detail))
                .build();
    }
}
