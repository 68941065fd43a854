package dev.qache.admin.web;

import dev.qache.admin.ring.RingSvg;
import dev.qache.admin.router.AdminViews;
import dev.qache.admin.router.Router;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What the dashboard shows, worked out from the router's answers: figures formatted, states
 * decided, so the templates only place them.
 */
public record Dashboard(
        long epoch,
        String ring,
        List<ShardRow> shards,
        List<MigrationRow> migrations,
        boolean moving,
        @Nullable String routerError,
        String refreshEvery) {

    /** One node of a shard as a table row. */
    public record NodeRow(
            String address,
            String role,
            String state,
            String keys,
            String memory,
            int memoryPercent,
            String hitRate,
            String offset,
            String lag,
            String epoch) {}

    public record ShardRow(
            String id,
            String colour,
            int slots,
            List<NodeRow> nodes,
            List<String> replicas,
            String primary,
            @Nullable String lastFailover,
            @Nullable String handoff,
            @Nullable String writesUnavailable) {

        /**
         * Table rows the shard takes: one per node, one for its last failover, one while a hand-off
         * runs, one if it takes no writes.
         */
        public int rows() {
            return nodes.size()
                    + (lastFailover == null ? 0 : 1)
                    + (handoff == null ? 0 : 1)
                    + (writesUnavailable == null ? 0 : 1);
        }
    }

    public record MigrationRow(
            String id,
            String state,
            int slotsDone,
            int slotsTotal,
            int slotsPercent,
            String bytes,
            int bytesPercent,
            String rate,
            String eta,
            @Nullable String reason,
            boolean active) {}

    /** The dashboard when the router could not be asked. */
    public static Dashboard unavailable(String why) {
        return new Dashboard(-1, "", List.of(), List.of(), false, why, "every 2s");
    }

    public static Dashboard of(Router.Snapshot snapshot) {
        AdminViews.Cluster cluster = snapshot.cluster();
        Map<String, String> colours = RingSvg.colours(cluster);
        List<ShardRow> shards = new ArrayList<>();
        boolean unsettled = !cluster.movingOrEmpty().isEmpty();
        for (AdminViews.Shard shard : cluster.shards()) {
            List<NodeRow> nodes = new ArrayList<>();
            List<String> replicas = new ArrayList<>();
            String primary = "";
            for (AdminViews.Node node : shard.nodes()) {
                String state = state(node);
                unsettled |= !state.equals("up");
                nodes.add(new NodeRow(
                        node.address(),
                        node.role(),
                        state,
                        node.keys() == null ? "—" : String.format(Locale.ROOT, "%,d", node.keys()),
                        memory(node),
                        memoryPercent(node),
                        hitRate(node),
                        node.offset() == null ? "—" : String.format(Locale.ROOT, "%,d", node.offset()),
                        node.role().equals("replica") ? (node.lagBytes() == null ? "—" : bytes(node.lagBytes())) : "",
                        node.epoch() == null ? "—" : String.valueOf(node.epoch())));
                if (node.role().equals("replica")) {
                    replicas.add(node.address());
                } else {
                    primary = node.address();
                }
            }
            AdminViews.Promotion last = shard.lastFailover();
            shards.add(new ShardRow(
                    shard.id(),
                    colours.getOrDefault(shard.id(), "#999999"),
                    shard.slots(),
                    nodes,
                    replicas,
                    primary,
                    last == null
                            ? null
                            : last.at() + ": " + last.to() + " replaced " + last.from() + " (epoch " + last.epoch()
                                    + ", " + last.reason() + ")",
                    shard.handoff() == null
                            ? null
                            : "since " + shard.handoff().at() + ", "
                                    + shard.handoff().from() + " hands over to "
                                    + shard.handoff().to(),
                    shard.writesUnavailable()));
        }
        List<MigrationRow> migrations = new ArrayList<>();
        for (AdminViews.Migration m : snapshot.migrations()) {
            boolean active = !m.state().equals("done") && !m.state().equals("aborted");
            unsettled |= active;
            int slotsPercent = m.slotsTotal() == 0 ? 100 : (int) (100L * m.slotsDone() / m.slotsTotal());
            // The router knows the bytes copied, not the total: estimate it from the slots done.
            long estimate = m.slotsDone() == 0 ? 0 : m.bytesCopied() * m.slotsTotal() / m.slotsDone();
            migrations.add(new MigrationRow(
                    m.id(),
                    m.state(),
                    m.slotsDone(),
                    m.slotsTotal(),
                    slotsPercent,
                    bytes(m.bytesCopied()) + (active && estimate > 0 ? " of about " + bytes(estimate) : ""),
                    estimate == 0 ? (active ? 0 : 100) : (int) Math.min(100, 100 * m.bytesCopied() / estimate),
                    bytes((long) m.bytesPerSecond()) + "/s",
                    // Before the first slot is done the router has no rate to go by.
                    active && m.slotsDone() > 0 && m.etaSeconds() >= 0
                            ? String.format(Locale.ROOT, "%.0f s", m.etaSeconds())
                            : "—",
                    m.reason(),
                    active));
        }
        return new Dashboard(
                cluster.epoch(),
                RingSvg.render(cluster, colours),
                shards,
                migrations,
                unsettled,
                null,
                unsettled ? "every 1s" : "every 5s");
    }

    /**
     * up, suspect or down as the router's failure detector sees the node; syncing when it is up
     * but its link to the primary is not streaming yet.
     */
    static String state(AdminViews.Node node) {
        if (!node.health().equals("up")) {
            return node.health();
        }
        if (node.role().equals("replica") && node.link() != null && !node.link().equals("streaming")) {
            return "syncing";
        }
        return "up";
    }

    static String hitRate(AdminViews.Node node) {
        if (node.hits() == null || node.misses() == null || node.hits() + node.misses() == 0) {
            return "—";
        }
        return String.format(Locale.ROOT, "%.1f%%", 100.0 * node.hits() / (node.hits() + node.misses()));
    }

    static String memory(AdminViews.Node node) {
        if (node.memoryUsedBytes() == null || node.memoryLimitBytes() == null) {
            return "—";
        }
        return bytes(node.memoryUsedBytes()) + " of " + bytes(node.memoryLimitBytes());
    }

    static int memoryPercent(AdminViews.Node node) {
        if (node.memoryUsedBytes() == null || node.memoryLimitBytes() == null || node.memoryLimitBytes() == 0) {
            return 0;
        }
        return (int) Math.min(100, 100 * node.memoryUsedBytes() / node.memoryLimitBytes());
    }

    /** Bytes in binary units, three significant figures. */
    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int unit = -1;
        while (v >= 1024 && unit < units.length - 1) {
            v /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s", v, units[unit]);
    }
}
