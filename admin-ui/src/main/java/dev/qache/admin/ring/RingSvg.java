package dev.qache.admin.ring;

import dev.qache.admin.router.AdminViews;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Draws the 16384 slots as a ring, server-side: one arc per run of slots with one owner, coloured
 * by shard, and an outer band over the slots being migrated, coloured by their target. Every arc
 * carries {@code data-shard} so the page can highlight a shard's slots, and a title that says
 * which slots it covers.
 */
public final class RingSvg {

    public static final int SLOTS = 16384;

    /** Distinct, colour-blind-aware colours (Okabe–Ito, then Tableau), in shard order. */
    private static final String[] PALETTE = {
        "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#4E79A7", "#F28E2B", "#59A14F",
        "#B07AA1", "#9C755F"
    };

    private static final double CENTRE = 160;
    private static final double OUTER = 132;
    private static final double INNER = 92;
    private static final double BAND_INNER = 138;
    private static final double BAND_OUTER = 152;

    private RingSvg() {}

    /** The colour of the {@code index}-th shard (in the order the cluster lists them). */
    public static String colour(int index) {
        return PALETTE[Math.floorMod(index, PALETTE.length)];
    }

    /** The SVG document; {@code colours} maps shard id to colour. */
    public static String render(AdminViews.Cluster cluster, Map<String, String> colours) {
        StringBuilder svg = new StringBuilder(16 * 1024);
        svg.append("<svg class=\"ring\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 320 320\" role=\"img\"")
                .append(" aria-label=\"")
                .append(escape(describe(cluster)))
                .append("\">");
        for (AdminViews.SlotRange range : cluster.slots()) {
            arc(svg, range, colours, INNER, OUTER, "owned", "owned by shard ");
        }
        for (AdminViews.SlotRange range : cluster.movingOrEmpty()) {
            arc(svg, range, colours, BAND_INNER, BAND_OUTER, "moving", "moving to shard ");
        }
        svg.append("<text x=\"160\" y=\"154\" text-anchor=\"middle\" class=\"ring-epoch\">epoch ")
                .append(cluster.epoch())
                .append("</text><text x=\"160\" y=\"176\" text-anchor=\"middle\" class=\"ring-caption\">")
                .append(cluster.shards().size())
                .append(cluster.shards().size() == 1 ? " shard" : " shards")
                .append("</text></svg>");
        return svg.toString();
    }

    private static String describe(AdminViews.Cluster cluster) {
        int moving = 0;
        for (AdminViews.SlotRange range : cluster.movingOrEmpty()) {
            moving += range.to() - range.from() + 1;
        }
        return "The slot ring at epoch " + cluster.epoch() + ": "
                + cluster.shards().size() + " shards" + (moving > 0 ? ", " + moving + " slots moving" : "");
    }

    private static void arc(
            StringBuilder svg,
            AdminViews.SlotRange range,
            Map<String, String> colours,
            double inner,
            double outer,
            String kind,
            String verb) {
        String colour = colours.getOrDefault(range.shard(), "#999999");
        svg.append("<path class=\"slot-range ")
                .append(kind)
                .append("\" data-shard=\"")
                .append(escape(range.shard()))
                .append("\" fill=\"")
                .append(colour)
                .append("\" d=\"");
        // Arcs of at most a quarter turn: an SVG arc cannot draw a whole circle, and small ones
        // keep the large-arc flag out of the question.
        for (int from = range.from(); from <= range.to(); from += SLOTS / 4) {
            int to = Math.min(range.to(), from + SLOTS / 4 - 1);
            segment(svg, from, to + 1, inner, outer);
        }
        svg.append("\"><title>slots ")
                .append(range.from())
                .append("–")
                .append(range.to())
                .append(" (")
                .append(range.to() - range.from() + 1)
                .append(") ")
                .append(verb)
                .append(escape(range.shard()))
                .append("</title></path>");
    }

    private static void segment(StringBuilder svg, int fromSlot, int toSlot, double inner, double outer) {
        double a0 = angle(fromSlot);
        double a1 = angle(toSlot);
        svg.append('M')
                .append(point(a0, outer))
                .append("A")
                .append(num(outer))
                .append(',')
                .append(num(outer))
                .append(" 0 0 1 ")
                .append(point(a1, outer))
                .append('L')
                .append(point(a1, inner))
                .append("A")
                .append(num(inner))
                .append(',')
                .append(num(inner))
                .append(" 0 0 0 ")
                .append(point(a0, inner))
                .append('Z');
    }

    /** Slot 0 at the top, clockwise. */
    private static double angle(int slot) {
        return 2 * Math.PI * slot / SLOTS - Math.PI / 2;
    }

    private static String point(double angle, double radius) {
        return num(CENTRE + radius * Math.cos(angle)) + "," + num(CENTRE + radius * Math.sin(angle));
    }

    private static String num(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    static String escape(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    /** Shard id to colour, in the order the cluster lists the shards. */
    public static Map<String, String> colours(AdminViews.Cluster cluster) {
        Map<String, String> colours = new java.util.LinkedHashMap<>();
        List<String> ids = new ArrayList<>();
        cluster.shards().forEach(s -> ids.add(s.id()));
        for (int i = 0; i < ids.size(); i++) {
            colours.put(ids.get(i), colour(i));
        }
        return colours;
    }
}
