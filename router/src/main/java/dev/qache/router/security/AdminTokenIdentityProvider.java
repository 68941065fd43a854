package dev.qache.router.security;

import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.identity.AuthenticationRequestContext;
import io.quarkus.security.identity.IdentityProvider;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.security.identity.request.TokenAuthenticationRequest;
import io.quarkus.security.runtime.QuarkusPrincipal;
import io.quarkus.security.runtime.QuarkusSecurityIdentity;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * An admin token gives the role {@value #ADMIN}; a cluster token gives the role {@value #NODE},
 * which only the calls nodes make of the router take (a primary's step-down when it is told to
 * stop); any other token fails authentication (401). The
 * comparison is constant-time ({@link dev.qache.protocol.auth.BearerTokens}) and runs on the
 * calling thread: it touches no I/O.
 */
@ApplicationScoped
public class AdminTokenIdentityProvider implements IdentityProvider<TokenAuthenticationRequest> {

    /** The role every admin resource method requires. */
    public static final String ADMIN = "admin";

    /** The role of a node presenting a cluster token. */
    public static final String NODE = "node";

    private final Credentials credentials;

    AdminTokenIdentityProvider(Credentials credentials) {
        this.credentials = credentials;
    }

    @Override
    public Class<TokenAuthenticationRequest> getRequestType() {
        return TokenAuthenticationRequest.class;
    }

    @Override
    public Uni<SecurityIdentity> authenticate(
            TokenAuthenticationRequest request, AuthenticationRequestContext context) {
        String token = request.getToken().getToken();
        String role;
        if (credentials.adminTokens().acceptsToken(token)) {
            role = ADMIN;
        } else if (credentials.clusterTokens().acceptsToken(token)) {
            role = NODE;
        } else {
            return Uni.createFrom().failure(new AuthenticationFailedException("the admin token is not valid"));
        }
        return Uni.createFrom()
                .item(QuarkusSecurityIdentity.builder()
                        .setPrincipal(new QuarkusPrincipal(role))
                        .addRole(role)
                        .build());
    }
}
