package dev.qache.admin.web;

import dev.qache.admin.auth.AdminToken;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jspecify.annotations.Nullable;

/**
 * Signed-in browsers. A session is a random id in an HttpOnly, SameSite=Strict cookie; the server
 * keeps, per session, the token that protects its forms against cross-site request forgery and a
 * one-time message for the next page. Sessions live in memory: a restarted console asks to sign
 * in again. The admin token itself never leaves the server.
 */
@ApplicationScoped
public class Sessions {

    public static final String COOKIE = "qache_console";

    private static final SecureRandom RANDOM = new SecureRandom();

    /** A signed-in browser; {@code flash} is shown once, on the next page. */
    public static final class Session {
        final String id;
        final String csrf;
        volatile long lastSeenNanos;
        volatile @Nullable Flash flash;

        Session(String id, String csrf) {
            this.id = id;
            this.csrf = csrf;
            this.lastSeenNanos = System.nanoTime();
        }

        public String csrf() {
            return csrf;
        }

        /** The message left by the last action, once. */
        public @Nullable Flash takeFlash() {
            Flash f = flash;
            flash = null;
            return f;
        }

        public void flash(Flash f) {
            flash = f;
        }
    }

    /** A message for the page: the outcome of an action, good or bad. */
    public record Flash(boolean ok, String message) {}

    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final AdminToken token;
    private final Duration idle;

    Sessions(
            AdminToken token,
            @ConfigProperty(name = "qache.admin-ui.session-idle", defaultValue = "8h") Duration idle) {
        this.token = token;
        this.idle = idle;
    }

    /** Whether {@code given} is one of the admin tokens; compared in constant time. */
    public boolean tokenMatches(@Nullable String given) {
        return given != null && token.matches(given.strip());
    }

    public Session open() {
        expireIdle();
        Session session = new Session(random(), random());
        sessions.put(session.id, session);
        return session;
    }

    /** The live session with this cookie value, touched; null when there is none. */
    public @Nullable Session find(@Nullable String id) {
        if (id == null) {
            return null;
        }
        Session session = sessions.get(id);
        if (session == null) {
            return null;
        }
        long now = System.nanoTime();
        if (now - session.lastSeenNanos > idle.toNanos()) {
            sessions.remove(id);
            return null;
        }
        session.lastSeenNanos = now;
        return session;
    }

    public void close(Session session) {
        sessions.remove(session.id);
    }

    /** Whether a submitted form carries this session's anti-forgery token. */
    public static boolean csrfMatches(Session session, @Nullable String given) {
        return given != null
                && MessageDigest.isEqual(
                        session.csrf.getBytes(StandardCharsets.UTF_8), given.getBytes(StandardCharsets.UTF_8));
    }

    private void expireIdle() {
        long now = System.nanoTime();
        sessions.values().removeIf(s -> now - s.lastSeenNanos > idle.toNanos());
    }

    private static String random() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }
}
