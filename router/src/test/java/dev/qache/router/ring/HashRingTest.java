package dev.qache.router.ring;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;
import org.junit.jupiter.api.Test;

/** The ring with an injected hash, so that a test states exactly where each virtual node sits. */
class HashRingTest {

    /** Tokens from a table: "a#0" -> 100, etc.; anything absent is an error in the test. */
    private static ToLongFunction<String> table(Map<String, Long> tokens) {
        return name -> {
            Long token = tokens.get(name);
            if (token == null) {
                throw new AssertionError("no token for " + name);
            }
            return token;
        };
    }

    @Test
    void ownerOf_isFirstVirtualNodeClockwise_wrapping() {
        HashRing ring = new HashRing(List.of("a", "b"), 1, table(Map.of("a#0", 100L, "b#0", 200L)));

        assertThat(ring.ownerOf(50)).isEqualTo("a");
        assertThat(ring.ownerOf(100)).as("on the token").isEqualTo("a");
        assertThat(ring.ownerOf(150)).isEqualTo("b");
        assertThat(ring.ownerOf(201))
                .as("past the last token wraps to the first")
                .isEqualTo("a");
        assertThat(ring.ownerOf(-1L)).as("unsigned: -1 is the largest point").isEqualTo("a");
    }

    @Test
    void collidingTokens_areOrderedByShardId_whateverTheInputOrder() {
        ToLongFunction<String> allSame = name -> 42L;

        HashRing ab = new HashRing(List.of("a", "b"), 1, allSame);
        HashRing ba = new HashRing(List.of("b", "a"), 1, allSame);

        assertThat(ab.ownerOf(0)).isEqualTo("a");
        assertThat(ba.ownerOf(0)).isEqualTo("a");
        assertThat(ab.ownerOf(43)).as("wraps to the same first node").isEqualTo("a");
    }

    @Test
    void unsignedOrder_placesNegativeTokensAfterPositiveOnes() {
        HashRing ring = new HashRing(List.of("low", "high"), 1, table(Map.of("low#0", 10L, "high#0", -10L)));

        assertThat(ring.ownerOf(11))
                .as("-10 is near the top of the unsigned ring")
                .isEqualTo("high");
        assertThat(ring.ownerOf(-5)).isEqualTo("low");
    }

    @Test
    void distanceTo_isClockwiseDistanceToShardsNearestVirtualNode() {
        HashRing ring =
                new HashRing(List.of("a", "b"), 2, table(Map.of("a#0", 100L, "a#1", 300L, "b#0", 200L, "b#1", 400L)));

        assertThat(ring.distanceTo(150, "b")).isEqualTo(50);
        assertThat(ring.distanceTo(150, "a")).isEqualTo(150);
        assertThat(ring.distanceTo(200, "b")).isZero();
        assertThat(ring.distanceTo(450, "a")).as("wraps").isEqualTo(100 - 450);
    }
}
