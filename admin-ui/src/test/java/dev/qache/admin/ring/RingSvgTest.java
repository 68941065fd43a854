package dev.qache.admin.ring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.qache.admin.router.AdminViews;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class RingSvgTest {

    private static AdminViews.Shard shard(String id) {
        return new AdminViews.Shard(id, 0, List.of(), null, null, null);
    }

    @Test
    void oneArcPerRange_colouredByShard_withTheMovingBand() {
        AdminViews.Cluster cluster = new AdminViews.Cluster(
                3,
                List.of(shard("a"), shard("b")),
                List.of(new AdminViews.SlotRange(0, 8191, "a"), new AdminViews.SlotRange(8192, 16383, "b")),
                List.of(new AdminViews.SlotRange(0, 99, "b")));

        String svg = RingSvg.render(cluster, RingSvg.colours(cluster));

        assertThat(svg).startsWith("<svg").endsWith("</svg>");
        assertThat(svg).contains("data-shard=\"a\" fill=\"" + RingSvg.colour(0) + "\"");
        assertThat(svg).contains("data-shard=\"b\" fill=\"" + RingSvg.colour(1) + "\"");
        assertThat(svg).contains("class=\"slot-range moving\" data-shard=\"b\"");
        assertThat(svg).contains("slots 0–8191 (8192) owned by shard a");
        assertThat(svg).contains("aria-label=\"The slot ring at epoch 3: 2 shards, 100 slots moving\"");
    }

    @Test
    void aWholeRingRange_isDrawnInQuarterTurns_startingAtTheTop() {
        AdminViews.Cluster cluster = new AdminViews.Cluster(
                1, List.of(shard("only")), List.of(new AdminViews.SlotRange(0, 16383, "only")), null);

        String svg = RingSvg.render(cluster, RingSvg.colours(cluster));

        Matcher moves = Pattern.compile("M([0-9.]+),([0-9.]+)A").matcher(svg);
        int segments = 0;
        while (moves.find()) {
            segments++;
        }
        assertThat(segments)
                .as("an SVG arc cannot draw a full circle: four quarter arcs")
                .isEqualTo(4);
        assertThat(svg).contains("M160.00,28.00A"); // slot 0 at the top, outer radius 132
    }

    @Test
    void shardIdsAreEscaped() {
        assertThat(RingSvg.escape("<a href=\"x\">&'")).isEqualTo("&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
