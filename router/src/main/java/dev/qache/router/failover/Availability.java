package dev.qache.router.failover;

import jakarta.inject.Singleton;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * Shards that take no writes because failover found no replica that may replace their down
 * primary ({@link Promotion.Blocked}), and why: the proxy says so in its 503s, the admin API and
 * the console show it.
 */
@Singleton
public class Availability {

    private final Map<String, String> blocked = new ConcurrentHashMap<>();

    /** Records that {@code shard} is blocked; returns whether that is news (to log it once). */
    boolean block(String shard, String reason) {
        return blocked.put(shard, reason) == null;
    }

    /** The shard is served again (its primary answered, or a replica took over). */
    boolean clear(String shard) {
        return blocked.remove(shard) != null;
    }

    /** Why {@code shard} takes no writes, or null when it may. */
    public @Nullable String blockedReason(String shard) {
        return blocked.get(shard);
    }
}
