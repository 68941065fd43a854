package dev.qache.protocol.testing;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Ways to spell a request path that a server may or may not treat as the same path: what an
 * authorization test sends to every protected endpoint (issue 13). Each applies to a canonical
 * path of two or more segments, such as {@code /admin/cluster} or {@code /_internal/status}.
 */
public enum PathSpelling {
    CANONICAL(p -> p),
    LEADING_DOUBLE_SLASH(p -> "/" + p),
    INNER_DOUBLE_SLASH(p -> first(p) + "/" + rest(p)),
    TRAILING_SLASH(p -> p + "/"),
    LEADING_DOT_SEGMENT(p -> "/." + p),
    LEADING_DOT_DOT_SEGMENT(p -> "/x/.." + p),
    INNER_DOT_SEGMENT(p -> first(p) + "/." + rest(p)),
    ENCODED_DOT_DOT_SEGMENT(p -> "/x/%2E%2E" + p),
    ENCODED_FIRST_LETTER(p -> "/" + encode(p.charAt(1), "%%%02X") + p.substring(2)),
    ENCODED_FIRST_LETTER_LOWER_HEX(p -> "/" + encode(p.charAt(1), "%%%02x") + p.substring(2)),
    ENCODED_LAST_LETTER(p -> p.substring(0, p.length() - 1) + encode(p.charAt(p.length() - 1), "%%%02X")),
    UPPER_CASE_FIRST_SEGMENT(p -> first(p).toUpperCase(Locale.ROOT) + rest(p)),
    UPPER_CASE_LAST_SEGMENT(p ->
            p.substring(0, p.lastIndexOf('/')) + p.substring(p.lastIndexOf('/')).toUpperCase(Locale.ROOT)),
    MATRIX_ON_FIRST_SEGMENT(p -> first(p) + ";x=1" + rest(p)),
    MATRIX_ON_LAST_SEGMENT(p -> p + ";x=1"),
    ENCODED_SLASH(p -> first(p) + "%2F" + rest(p).substring(1)),
    ENCODED_SLASH_LOWER_HEX(p -> first(p) + "%2f" + rest(p).substring(1)),
    BACKSLASH(p -> first(p) + "\\" + rest(p).substring(1)),
    QUERY(p -> p + "?x=1");

    /**
     * The spellings that both Vert.x Web and Quarkus REST match as the canonical path: they
     * remove dot segments (encoded ones too), collapse doubled slashes, ignore a trailing slash and
     * a query, and decode percent-encoded unreserved letters before matching. The others (case,
     * matrix parameters, encoded slashes, backslashes) are other paths to both.
     */
    public static final Set<PathSpelling> SAME_PATH = EnumSet.of(
            CANONICAL,
            LEADING_DOUBLE_SLASH,
            INNER_DOUBLE_SLASH,
            TRAILING_SLASH,
            LEADING_DOT_SEGMENT,
            LEADING_DOT_DOT_SEGMENT,
            INNER_DOT_SEGMENT,
            ENCODED_DOT_DOT_SEGMENT,
            ENCODED_FIRST_LETTER,
            ENCODED_FIRST_LETTER_LOWER_HEX,
            ENCODED_LAST_LETTER,
            QUERY);

    private final UnaryOperator<String> spell;

    PathSpelling(UnaryOperator<String> spell) {
        this.spell = spell;
    }

    /** {@code canonical} spelled this way; a query string on it stays at the end. */
    public String of(String canonical) {
        int q = canonical.indexOf('?');
        if (q < 0) {
            return spell.apply(canonical);
        }
        String spelled = spell.apply(canonical.substring(0, q));
        String query = canonical.substring(q + 1);
        return spelled.contains("?") ? spelled + "&" + query : spelled + "?" + query;
    }

    /** The first segment with its slash: {@code /admin} of {@code /admin/cluster}. */
    private static String first(String path) {
        int next = path.indexOf('/', 1);
        return next < 0 ? path : path.substring(0, next);
    }

    /** Everything after the first segment, from its slash: {@code /cluster} of {@code /admin/cluster}. */
    private static String rest(String path) {
        int next = path.indexOf('/', 1);
        return next < 0 ? "" : path.substring(next);
    }

    private static String encode(char c, String format) {
        return String.format(Locale.ROOT, format, (int) c);
    }
}
