package dev.qache.protocol.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The tokens one setting accepts ({@code qache.admin.token}, {@code qache.cluster.token},
 * {@code qache.data.tokens}): any of them is valid, and a caller sends the first. Several tokens
 * are what lets a token be rotated without a flag day: add the new one after the old everywhere,
 * put it first, then remove the old (docs/API.md, "Security").
 */
/*
 * Constant time: each accepted token is kept as its SHA-256 digest, and a presented token is
 * digested once and compared with every one of them, without stopping at a match. Comparing
 * digests rather than the tokens themselves means the time taken reveals neither how much of a
 * guess was right nor how long the real tokens are, and which of several tokens matched.
 */
public final class BearerTokens {

    private static final String SCHEME = "bearer ";

    private static final BearerTokens NONE = new BearerTokens(List.of());

    private final List<String> tokens;
    private final byte[][] digests;

    /** {@code Bearer <first>}, made once: callers send it on every request. */
    private final @Nullable String authorization;

    private BearerTokens(List<String> tokens) {
        this.tokens = List.copyOf(tokens);
        this.digests = tokens.stream().map(BearerTokens::digest).toArray(byte[][]::new);
        this.authorization = tokens.isEmpty() ? null : "Bearer " + tokens.getFirst();
    }

    /** No token at all: nothing is accepted, and {@link #isEmpty()} says so. */
    public static BearerTokens none() {
        return NONE;
    }

    /**
     * The tokens of a comma- or newline-separated list; blanks around each are dropped, as are
     * empty entries. A token may not contain whitespace or a comma.
     *
     * @throws IllegalArgumentException for a token with whitespace inside it
     */
    public static BearerTokens parse(@Nullable String list) {
        if (list == null) {
            return NONE;
        }
        List<String> tokens = new ArrayList<>();
        for (String part : list.split("[,\\n]")) {
            String token = part.strip();
            if (token.isEmpty()) {
                continue;
            }
            if (token.chars().anyMatch(Character::isWhitespace)) {
                throw new IllegalArgumentException("a token may not contain whitespace");
            }
            if (!tokens.contains(token)) {
                tokens.add(token);
            }
        }
        return tokens.isEmpty() ? NONE : new BearerTokens(tokens);
    }

    public boolean isEmpty() {
        return tokens.isEmpty();
    }

    public int size() {
        return tokens.size();
    }

    /** Whether {@code token} (the bare token, no scheme) is one of these; constant time. */
    public boolean acceptsToken(@Nullable String token) {
        if (token == null || digests.length == 0) {
            return false;
        }
        byte[] given = digest(token);
        boolean match = false;
        for (byte[] digest : digests) {
            match |= MessageDigest.isEqual(digest, given);
        }
        return match;
    }

    /** Whether an {@code Authorization} header value is {@code Bearer <one of these>}. */
    public boolean acceptsHeader(@Nullable String authorization) {
        return acceptsToken(tokenOf(authorization));
    }

    /** The token of a {@code Bearer} header value (the scheme matched without regard to case), else null. */
    public static @Nullable String tokenOf(@Nullable String authorization) {
        if (authorization == null
                || authorization.length() <= SCHEME.length()
                || !authorization.regionMatches(true, 0, SCHEME, 0, SCHEME.length())) {
            return null;
        }
        return authorization.substring(SCHEME.length()).strip();
    }

    /**
     * The token a caller sends: the first one.
     *
     * @throws IllegalStateException when there is none
     */
    public String first() {
        if (tokens.isEmpty()) {
            throw new IllegalStateException("no token configured");
        }
        return tokens.getFirst();
    }

    /**
     * {@code Bearer <first>}, the header value a caller sends.
     *
     * @throws IllegalStateException when there is none
     */
    public String authorization() {
        if (authorization == null) {
            throw new IllegalStateException("no token configured");
        }
        return authorization;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof BearerTokens that && tokens.equals(that.tokens);
    }

    @Override
    public int hashCode() {
        return tokens.hashCode();
    }

    /** Never the tokens themselves: this may end up in a log. */
    @Override
    public String toString() {
        return tokens.size() + " token(s)";
    }

    private static byte[] digest(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JDK has SHA-256", e);
        }
    }
}
