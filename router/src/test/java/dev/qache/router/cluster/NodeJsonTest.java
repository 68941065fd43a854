package dev.qache.router.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qache.protocol.HandedOff;
import dev.qache.protocol.NodeStatus;
import dev.qache.protocol.SlotImported;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Nodes' internal answers read into the protocol's records, across neighbouring releases. */
class NodeJsonTest {

    private static byte[] json(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aStatusAsTheNodeWritesIt_readsBackEqual() throws Exception {
        NodeStatus written = new NodeStatus(
                "127.0.0.1:7002",
                7,
                "s1",
                3,
                300,
                1000,
                5,
                1,
                "replica",
                true,
                "h-2",
                4096,
                "h-1",
                1024,
                0,
                1 << 20,
                false,
                "127.0.0.1:7001",
                "streaming",
                List.of(),
                1,
                2,
                0,
                0,
                250.5,
                480,
                true,
                99);

        NodeStatus read = NodeJson.read(new ObjectMapper().writeValueAsBytes(written), NodeStatus.class, "status");

        assertThat(read).isEqualTo(written);
    }

    @Test
    void aPrimarysStatus_namesItsReplicas_andOmitsWhatItDoesNotHave() throws Exception {
        NodeStatus primary = new NodeStatus(
                null,
                3,
                null,
                0,
                0,
                1000,
                0,
                0,
                "primary",
                true,
                "h",
                10,
                "",
                0,
                0,
                64,
                true,
                null,
                null,
                List.of(new NodeStatus.ReplicaSession("127.0.0.1:7002", 10, 0, false, 0)),
                0,
                0,
                1,
                0,
                0,
                0,
                false,
                1);

        String text = new ObjectMapper().writeValueAsString(primary);

        assertThat(text).doesNotContain("\"self\":", "\"shard\":", "\"primary\":", "\"link\":");
        assertThat(NodeJson.read(json(text), NodeStatus.class, "status")).isEqualTo(primary);
    }

    /** A member this release does not know is skipped; one it lacks reads as nothing known. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            unknown member from a newer node | {"role":"primary","offset":12,"replicationId":"h","synced":true,"shardVersion":4,"future":{"x":1}} | primary | true  | h | 12
            older node without history members | {"role":"replica","synced":true}                                                              | replica | true  |   | 0
            replica mid-sync                   | {"role":"replica","synced":false,"replicationId":"","offset":0}                               | replica | false |   | 0
            nothing at all                     | {}                                                                                              | none    | false |   | 0
            """)
    void membersUnknownOrMissing(String what, String body, String role, boolean synced, String history, long offset) {
        NodeStatus status = NodeJson.read(json(body), NodeStatus.class, "status");

        assertThat(status.role()).isEqualTo(role);
        assertThat(status.synced()).isEqualTo(synced);
        assertThat(status.replicationId()).isEqualTo(history == null ? "" : history);
        assertThat(status.offset()).isEqualTo(offset);
        assertThat(status.previousId()).isEmpty();
        assertThat(status.replicas()).isEmpty();
    }

    @Test
    void importAndHandOffAnswers_areRead() {
        assertThat(NodeJson.read(
                        json("{\"keys\":4,\"bytes\":400,\"attempt\":2,\"replicationId\":\"h\",\"offset\":77}"),
                        SlotImported.class,
                        "import answer"))
                .isEqualTo(new SlotImported(4, 400, 2, "h", 77));
        assertThat(NodeJson.read(
                        json("{\"offset\":9,\"replicationId\":\"h\",\"replica\":\"x\"}"), HandedOff.class, "hand-off"))
                .isEqualTo(new HandedOff(9, "h"));
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {"not json", "[1,2]", "{\"offset\":\"many\"}"})
    void anUnreadableAnswer_failsNamingWhatItWas(String body) {
        assertThatIllegalStateException()
                .isThrownBy(() -> NodeJson.read(json(body), NodeStatus.class, "status answer"))
                .withMessageContaining("an unreadable status answer");
    }
}
