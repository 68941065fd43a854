package dev.qache.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class KeyCodecTest {

    @Test
    void decode_plainAscii_isTheSegmentItself() throws Exception {
        KeyCodec.Key key = KeyCodec.decode("/user:42", 250);

        assertThat(key.text()).isEqualTo("user:42");
        assertThat(key.bytes()).isEqualTo("user:42".getBytes(StandardCharsets.US_ASCII));
        assertThat(key.jsonSafe()).isTrue();
    }

    @Test
    void decode_percentEscapes_areDecodedOnce_andPlusStaysPlus() throws Exception {
        assertThat(KeyCodec.decode("/a%2Fb", 250).text()).isEqualTo("a/b");
        assertThat(KeyCodec.decode("/a%252F", 250).text()).as("decoded once").isEqualTo("a%2F");
        assertThat(KeyCodec.decode("/a+b", 250).text()).isEqualTo("a+b");
        assertThat(KeyCodec.decode("/caf%C3%A9", 250).text()).isEqualTo("café");
        assertThat(KeyCodec.decode("/q%22", 250).jsonSafe())
                .as("a quote needs escaping")
                .isFalse();
    }

    @Test
    void decode_rawUtf8FromTheRequestLine_isTakenAsBytes() throws Exception {
        // The HTTP decoder hands request-line bytes over one char per byte (ISO-8859-1).
        String raw = "/" + new String("café".getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
        assertThat(KeyCodec.decode(raw, 250).text()).isEqualTo("café");
    }

    @Test
    void decode_limitsCountUtf8Bytes() throws Exception {
        assertThat(KeyCodec.decode("/" + "%C3%A9".repeat(125), 250).bytes()).hasSize(250);
        assertThatThrownBy(() -> KeyCodec.decode("/" + "%C3%A9".repeat(126), 250))
                .isInstanceOf(KeyCodec.BadKeyException.class)
                .hasMessageContaining("252 bytes");
        assertThatThrownBy(() -> KeyCodec.decode("/" + "k".repeat(251), 250))
                .isInstanceOf(KeyCodec.BadKeyException.class);
    }

    @Test
    void decode_badInput_isRefusedWithAReason() {
        for (String raw : new String[] {"/", "", "/a/b", "/%", "/a%2", "/%zz", "/%FF", "/%C3"}) {
            assertThatThrownBy(() -> KeyCodec.decode(raw, 250))
                    .as(raw)
                    .isInstanceOf(KeyCodec.BadKeyException.class)
                    .hasMessageContaining("key");
        }
    }

    @Test
    void slots_areStableAndSpread() {
        byte[] key = "user:42".getBytes(StandardCharsets.UTF_8);
        assertThat(Slots.of(key)).isBetween(0, Slots.COUNT - 1).isEqualTo(Slots.of(key.clone()));
        assertThat(Slots.point(1) - Slots.point(0)).isEqualTo(1L << 50);
    }
}
