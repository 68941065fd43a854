package dev.qache.admin.router;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The router's admin API as this console reads it ({@code GET /admin/cluster}, {@code GET
 * /admin/migrations}). Fields the router adds later are ignored, so the console and the router
 * can be upgraded one at a time.
 */
public final class AdminViews {

    private AdminViews() {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Cluster(
            long epoch,
            List<Shard> shards,
            List<SlotRange> slots,
            @Nullable List<SlotRange> moving) {

        public List<SlotRange> movingOrEmpty() {
            return moving == null ? List.of() : moving;
        }
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Shard(
            String id,
            int slots,
            List<Node> nodes,
            @Nullable Promotion lastFailover,
            @Nullable Handoff handoff,
            @Nullable String writesUnavailable) {}

    /** A graceful promotion under way: the primary's writes are paused until it ends. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Handoff(String from, String to, String at) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Node(
            String address,
            String role,
            String health,
            @Nullable String reportedRole,
            @Nullable Long offset,
            @Nullable Long lagBytes,
            @Nullable String link,
            @Nullable Long keys,
            @Nullable Long memoryUsedBytes,
            @Nullable Long memoryLimitBytes,
            @Nullable Long hits,
            @Nullable Long misses,
            @Nullable Long epoch) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Promotion(String at, String from, String to, long epoch, String reason) {}

    /** Inclusive bounds; {@code shard} is the owner, or for a moving range its target. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record SlotRange(int from, int to, String shard) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Migrations(List<Migration> migrations) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Migration(
            String id,
            String state,
            int slotsDone,
            int slotsTotal,
            long keysCopied,
            long bytesCopied,
            double bytesPerSecond,
            double etaSeconds,
            @Nullable String reason) {}

    /** What {@code POST /admin/shards} takes. */
    public record AddShard(@Nullable String id, String primary, List<String> replicas) {}

    /** What {@code POST /admin/shards/{id}/replicas} takes. */
    public record AddReplica(String address) {}

    /** What {@code POST /admin/shards/{id}/promote} takes; no replica: the router picks the best. */
    public record Promote(@Nullable String replica) {}

    /** An {@code application/problem+json} body. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Problem(
            @Nullable String title, int status, @Nullable String detail) {}
}
