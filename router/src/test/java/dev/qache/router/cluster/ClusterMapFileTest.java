package dev.qache.router.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterMapFileTest {

    @TempDir
    Path dir;

    private static ClusterMap threeShards() {
        return ClusterMap.bootstrap(List.of(
                new Shard("s1", "127.0.0.1:7001", List.of("127.0.0.1:7101")),
                new Shard("s2", "127.0.0.1:7002", List.of()),
                new Shard("s3", "127.0.0.1:7003", List.of("127.0.0.1:7103", "127.0.0.1:7203"))));
    }

    @Test
    void load_withoutFile_isEmpty() throws IOException {
        assertThat(new ClusterMapFile(dir.resolve("cluster-map.json")).load()).isEmpty();
    }

    @Test
    void replace_thenLoad_returnsTheSameMap_asARestartedRouterWould() throws IOException {
        ClusterMap map = threeShards();
        new ClusterMapFile(dir.resolve("cluster-map.json")).replace(map);

        ClusterMap restored =
                new ClusterMapFile(dir.resolve("cluster-map.json")).load().orElseThrow();

        assertThat(restored).isEqualTo(map);
        assertThat(restored.epoch()).isEqualTo(1);
        assertThat(dir.resolve("cluster-map.json.tmp")).doesNotExist();
    }

    @Test
    void replace_withAnOlderMap_keepsTheOlderOne_asTheCopyOfWhatTheRouterServes() throws IOException {
        ClusterMapFile file = new ClusterMapFile(dir.resolve("cluster-map.json"));
        ClusterMap older = threeShards();
        file.replace(older.withShardRemoved("s2"));

        file.replace(older);
        assertThat(file.load().orElseThrow()).isEqualTo(older);
    }

    @Test
    void strayTempFileFromACrash_isIgnoredAndReplaced() throws IOException {
        ClusterMapFile file = new ClusterMapFile(dir.resolve("cluster-map.json"));
        ClusterMap map = threeShards();
        file.replace(map);
        Files.writeString(dir.resolve("cluster-map.json.tmp"), "{\"epoch\": 99, trunc");

        assertThat(file.load().orElseThrow()).isEqualTo(map);
        file.replace(map.withShardRemoved("s2"));
        assertThat(file.load().orElseThrow().epoch()).isEqualTo(2);
    }

    @Test
    void json_storesSlotsAsRanges_andRejectsGaps() throws IOException {
        String json = new String(ClusterMapJson.write(threeShards()), StandardCharsets.UTF_8);
        assertThat(json).contains("\"from\" : 0").contains("\"to\" : 16383");

        String gap = json.replaceFirst("\"from\" : 0", "\"from\" : 1");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> ClusterMapJson.read(gap.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void corruptFile_failsLoudly() throws IOException {
        Files.writeString(dir.resolve("cluster-map.json"), "not json");
        assertThatThrownBy(() -> new ClusterMapFile(dir.resolve("cluster-map.json")).load())
                .isInstanceOf(IOException.class);
    }
}
