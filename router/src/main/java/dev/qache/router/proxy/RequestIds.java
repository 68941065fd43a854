package dev.qache.router.proxy;

import io.vertx.core.http.HttpHeaders;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * {@code X-Request-Id} of a data call: the client's, when it sent one the router may pass on (1 to
 * 64 of letters, digits and {@code . _ : -}), else this router's next (a random prefix per process
 * and a counter). The router sends it with every call it makes to a node for the request and
 * answers with it, so the access logs of router and nodes (README, "Logs") name the same request
 * by the same id.
 */
final class RequestIds {

    static final CharSequence HEADER = HttpHeaders.createOptimized("X-Request-Id");

    private static final int MAX_LENGTH = 64;
    private static final String PREFIX =
            Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 24) + "-";
    private static final AtomicLong NEXT = new AtomicLong();

    private RequestIds() {}

    /** {@code offered} when it is usable, else a new id. */
    static String of(@Nullable String offered) {
        return usable(offered) ? offered : PREFIX + Long.toHexString(NEXT.incrementAndGet());
    }

    static boolean usable(@Nullable String id) {
        if (id == null || id.isEmpty() || id.length() > MAX_LENGTH) {
            return false;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z')
                    || (c >= 'A' && c <= 'Z')
                    || (c >= '0' && c <= '9')
                    || c == '.'
                    || c == '_'
                    || c == ':'
                    || c == '-';
            if (!ok) {
                return false;
            }
        }
        return true;
    }
}
