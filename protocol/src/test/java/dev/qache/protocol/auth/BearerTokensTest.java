package dev.qache.protocol.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BearerTokensTest {

    /** One row per header rule: the configured list, the Authorization header sent, accepted or not. */
    @ParameterizedTest(name = "[{index}] tokens \"{0}\", header \"{1}\" -> {2}")
    @CsvSource(
            delimiter = '|',
            nullValues = "NULL",
            value = {
                "old            | Bearer old       | true",
                "old,new        | Bearer new       | true", // rotation: either token of the list
                "old,new        | Bearer old       | true",
                "' old , new '  | Bearer new       | true", // blanks around entries dropped
                "old            | bearer old       | true", // the scheme is case-insensitive (RFC 9110)
                "old            | BEARER old       | true",
                "old            | Bearer  old      | true", // extra blank after the scheme
                "old            | Bearer old2      | false",
                "old            | Bearer ol        | false", // a prefix of the token is not the token
                "old            | Bearer OLD       | false", // the token itself is case-sensitive
                "old            | old              | false", // no scheme
                "old            | Basic old        | false",
                "old            | Bearer           | false",
                "old            | NULL             | false",
                "old,new        | Bearer old,new   | false", // the whole list is no token
                "''             | Bearer           | false", // no tokens accept nothing
                "''             | Bearer x         | false",
            })
    void acceptsHeader_table(String list, String header, boolean accepted) {
        assertThat(BearerTokens.parse(list).acceptsHeader(header)).isEqualTo(accepted);
    }

    @Test
    void first_isWhatACallerSends_andTheOrderIsKept() {
        BearerTokens tokens = BearerTokens.parse("new, old");

        assertThat(tokens.first()).isEqualTo("new");
        assertThat(tokens.authorization()).isEqualTo("Bearer new");
        assertThat(tokens.size()).isEqualTo(2);
    }

    @Test
    void parse_newlinesSeparateToo_andDuplicatesCollapse() {
        assertThat(BearerTokens.parse("a\nb\r\na,\n")).isEqualTo(BearerTokens.parse("a,b"));
    }

    @Test
    void parse_tokenWithInnerWhitespace_isRefused() {
        assertThatThrownBy(() -> BearerTokens.parse("two words")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void none_acceptsNothing_andHasNothingToSend() {
        assertThat(BearerTokens.none().isEmpty()).isTrue();
        assertThat(BearerTokens.parse(" , ").isEmpty()).isTrue();
        assertThatThrownBy(() -> BearerTokens.none().first()).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void toString_neverShowsTheTokens() {
        assertThat(BearerTokens.parse("secret-one,secret-two").toString())
                .doesNotContain("secret")
                .isEqualTo("2 token(s)");
    }

    @Test
    void tokenSource_valueAndFileTogether_isRefused(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("t"), "a");

        assertThatThrownBy(() -> TokenSource.of("qache.admin.token", Optional.of("b"), Optional.of(file)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not both");
    }

    @Test
    void tokenSource_missingOrEmptyFileAtStart_isRefused(@TempDir Path dir) throws IOException {
        Path empty = Files.writeString(dir.resolve("empty"), " \n");

        assertThatThrownBy(() -> TokenSource.of("s", Optional.empty(), Optional.of(dir.resolve("absent"))))
                .hasMessageContaining("cannot be read");
        assertThatThrownBy(() -> TokenSource.of("s", Optional.empty(), Optional.of(empty)))
                .hasMessageContaining("holds no token");
    }

    @Test
    void tokenSource_reload_takesANewList_keepsTheOldOneWhenTheFileIsEmptyOrGone(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("cluster-token"), "old\n");
        TokenSource source = TokenSource.of("qache.cluster.token", Optional.empty(), Optional.of(file));
        List<String> warnings = new ArrayList<>();

        assertThat(source.reload(warnings::add)).as("unchanged file").isFalse();

        Files.writeString(file, "old,new");
        assertThat(source.reload(warnings::add)).isTrue();
        assertThat(source.current().acceptsToken("new")).isTrue();
        assertThat(source.current().first()).isEqualTo("old");

        Files.writeString(file, ""); // a writer that truncated and has not written yet
        assertThat(source.reload(warnings::add)).isFalse();
        assertThat(source.current().acceptsToken("new")).isTrue();

        Files.delete(file);
        assertThat(source.reload(warnings::add)).isFalse();
        assertThat(source.current().acceptsToken("old")).isTrue();

        assertThat(source.reloads()).isEqualTo(1);
        assertThat(source.failures()).isEqualTo(2);
        assertThat(warnings).hasSize(2).allSatisfy(w -> assertThat(w).doesNotContain("new"));
    }

    @Test
    void tokenSource_fromValue_neverReloads() {
        TokenSource source = TokenSource.of("qache.data.tokens", Optional.of("a,b"), Optional.empty());

        assertThat(source.reload(w -> {})).isFalse();
        assertThat(source.current().acceptsToken("b")).isTrue();
        assertThat(TokenSource.of("qache.data.tokens", Optional.empty(), Optional.empty())
                        .current()
                        .isEmpty())
                .isTrue();
    }
}
