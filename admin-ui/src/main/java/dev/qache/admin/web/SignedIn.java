package dev.qache.admin.web;

import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Cookie;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.util.Optional;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/**
 * Every page and action needs a session, except the sign-in page itself. Without one, a page
 * request is sent to sign in (303), and a refresh by htmx is told to go there ({@code
 * HX-Redirect}). A state-changing request whose {@code Origin} names another site is refused
 * before any form is read; the forms also carry the session's anti-forgery token.
 */
public class SignedIn {

    private final Sessions sessions;

    SignedIn(Sessions sessions) {
        this.sessions = sessions;
    }

    @ServerRequestFilter
    public Optional<Response> requireSession(ContainerRequestContext request) {
        String path = request.getUriInfo().getPath();
        if (path.equals("/signin")) {
            return Optional.empty();
        }
        Cookie cookie = request.getCookies().get(Sessions.COOKIE);
        Sessions.Session session = sessions.find(cookie == null ? null : cookie.getValue());
        if (session == null) {
            if (request.getHeaderString("HX-Request") != null) {
                return Optional.of(Response.status(401)
                        .header("HX-Redirect", "/signin")
                        .type(MediaType.TEXT_PLAIN)
                        .entity("sign in again")
                        .build());
            }
            return Optional.of(Response.seeOther(URI.create("/signin")).build());
        }
        String method = request.getMethod();
        if (!method.equals("GET") && !method.equals("HEAD")) {
            String origin = request.getHeaderString("Origin");
            String host = request.getHeaderString(HttpHeaders.HOST);
            if (origin != null && host != null && !origin.equals("null") && !sameHost(origin, host)) {
                return Optional.of(Response.status(403)
                        .type(MediaType.TEXT_PLAIN)
                        .entity("cross-site request refused")
                        .build());
            }
        }
        return Optional.empty();
    }

    private static boolean sameHost(String origin, String host) {
        int scheme = origin.indexOf("://");
        return scheme > 0 && origin.substring(scheme + 3).equalsIgnoreCase(host);
    }
}
