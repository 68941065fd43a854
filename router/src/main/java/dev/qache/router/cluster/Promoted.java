package dev.qache.router.cluster;

/**
 * A promotion as the routers' group records it with the map it made, and as the admin API shows
 * it: the shard, when (ISO-8601, the leader's clock as it decided), the deposed and the new
 * primary, the epoch of the map that made it (-1 until that map is committed), and why (a detected
 * failure, or forced).
 */
public record Promoted(String shard, String at, String from, String to, long epoch, String reason) {

    /** The same promotion, made by the map of {@code epoch}. */
    public Promoted atEpoch(long epoch) {
        return new Promoted(shard, at, from, to, epoch, reason);
    }
}
