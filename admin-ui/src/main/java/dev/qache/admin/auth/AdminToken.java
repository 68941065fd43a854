package dev.qache.admin.auth;

import dev.qache.protocol.auth.TokenSource;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The console's admin tokens ({@code qache.admin.token}, comma separated, or
 * {@code qache.admin.token-file}, read again while it runs): a user signs in with any of them, and
 * the console calls the router with the first.
 */
@Singleton
public class AdminToken {

    private static final Logger LOG = Logger.getLogger(AdminToken.class);

    private final TokenSource source;

    AdminToken(
            @ConfigProperty(name = "qache.admin.token") Optional<String> token,
            @ConfigProperty(name = "qache.admin.token-file") Optional<Path> file,
            @ConfigProperty(name = "qache.security.reload-interval", defaultValue = "1s") Duration reload) {
        this.source = TokenSource.of("qache.admin.token", token, file).watch(reload, LOG::info, LOG::warn);
        if (source.current().isEmpty()) {
            throw new IllegalStateException("set qache.admin.token (or qache.admin.token-file): the console needs one");
        }
    }

    /** Whether {@code given} is one of the admin tokens; constant time. */
    public boolean matches(String given) {
        return source.current().acceptsToken(given);
    }

    /** {@code Bearer <first admin token>}, what the console sends the router. */
    public String authorization() {
        return source.current().authorization();
    }

    /** Times the token file was read and gave other tokens (the console has no metrics endpoint). */
    public long reloads() {
        return source.reloads();
    }

    /** Times the token file could not be read or held no token. */
    public long reloadFailures() {
        return source.failures();
    }

    @PreDestroy
    void stop() {
        source.close();
    }
}
