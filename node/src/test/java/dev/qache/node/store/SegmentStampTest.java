package dev.qache.node.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Table-driven: a segment's access stamps follow its LRU order even when a thread links a node
 * with a stamp it read before another thread's later one (the clock is read outside the lock).
 * Each step is {@code insert:key@stamp} or {@code touch:key@stamp}; the expected result is the
 * LRU order, oldest first, as {@code key@stamp}.
 */
class SegmentStampTest {

    static Stream<Arguments> rows() {
        return Stream.of(
                Arguments.of("in order", "insert:a@10 insert:b@20 touch:a@30", "b@20 a@30"),
                Arguments.of(
                        "a stale insert takes the newest stamp",
                        "insert:a@10 insert:b@20 insert:c@15",
                        "a@10 b@20 c@20"),
                Arguments.of("a stale touch takes the newest stamp", "insert:a@10 insert:b@20 touch:a@15", "b@20 a@20"),
                Arguments.of(
                        "a stale touch of the newest changes nothing",
                        "insert:a@10 insert:b@20 touch:b@12",
                        "a@10 b@20"),
                Arguments.of("a lone node keeps its later stamp", "insert:a@20 touch:a@12", "a@20"),
                Arguments.of(
                        "stamps across the int wrap",
                        "insert:a@2147483647 insert:b@-2147483648 touch:a@2147483646",
                        "b@-2147483648 a@-2147483648"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void stampsFollowTheLruOrder(String why, String steps, String expected) {
        Segment segment = new Segment();
        Map<String, Node> nodes = new HashMap<>();
        for (String step : steps.split(" ")) {
            String[] parts = step.split("[:@]");
            int stamp = Integer.parseInt(parts[2]);
            if (parts[0].equals("insert")) {
                byte[] key = parts[1].getBytes(StandardCharsets.UTF_8);
                Node node = new Node(Node.data(key, new byte[1], 0, 1));
                node.expireAtMillis = Store.NO_EXPIRY;
                node.accessStamp = stamp;
                segment.insert(node, KeyHash.of(key));
                nodes.put(parts[1], node);
            } else {
                segment.touch(nodes.get(parts[1]), stamp);
            }
        }
        List<String> order = new ArrayList<>();
        segment.forEachOldestFirst(
                node -> order.add(new String(node.key(), StandardCharsets.UTF_8) + "@" + node.accessStamp));
        assertThat(String.join(" ", order)).isEqualTo(expected);
        assertThat(segment.lruTailStamp).isEqualTo(nodes.get(order.getFirst().split("@")[0]).accessStamp);
    }
}
