package dev.qache.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Turns the raw request path {@code /<segment>} into a key, identically on nodes and routers: the segment percent-decoded to bytes,
 * which must be valid UTF-8 of 1 to maxKeyBytes bytes. {@code %2F} decodes to a slash inside the
 * key ({@code a%2Fb} is the one key "a/b"); {@code +} is a plus, not a space, as in any path.
 */
public final class KeyCodec {

    private KeyCodec() {}

    /**
     * A decoded key: its UTF-8 bytes (stored) and its text (echoed in responses).
     *
     * @param jsonSafe the bytes are printable ASCII with no quote or backslash, so they can be
     *     written into a JSON string as they are
     */
    public record Key(byte[] bytes, String text, boolean jsonSafe) {}

    /** Thrown for a path that does not name a valid key; the message is the problem's detail. */
    public static final class BadKeyException extends Exception {
        BadKeyException(String message) {
            super(message, null, false, false);
        }
    }

    public static Key decode(String rawPath, int maxKeyBytes) throws BadKeyException {
        if (rawPath.length() < 2 || rawPath.charAt(0) != '/') {
            throw new BadKeyException("the key is empty: use /{key} with a key of 1 to " + maxKeyBytes + " bytes");
        }
        if (isPlainAscii(rawPath)) {
            // The common case: nothing escaped, nothing to validate beyond the length.
            int length = rawPath.length() - 1;
            if (length > maxKeyBytes) {
                throw new BadKeyException("the key is " + length + " bytes of UTF-8; the limit is " + maxKeyBytes);
            }
            byte[] bytes = new byte[length];
            boolean jsonSafe = true;
            for (int i = 0; i < length; i++) {
                char c = rawPath.charAt(i + 1);
                bytes[i] = (byte) c;
                jsonSafe &= c >= 0x20 && c != '"' && c != '\\' && c != 0x7F;
            }
            return new Key(bytes, rawPath.substring(1), jsonSafe);
        }
        byte[] bytes = percentDecode(rawPath, 1);
        if (bytes.length > maxKeyBytes) {
            throw new BadKeyException("the key is " + bytes.length + " bytes of UTF-8; the limit is " + maxKeyBytes);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new BadKeyException("the key is not valid UTF-8 once percent-decoded");
        }
        return new Key(bytes, text, false);
    }

    /** No escape, no slash after the leading one, nothing outside ASCII. */
    private static boolean isPlainAscii(String rawPath) {
        for (int i = 1; i < rawPath.length(); i++) {
            char c = rawPath.charAt(i);
            if (c == '%' || c == '/' || c >= 0x80) {
                return false;
            }
        }
        return true;
    }

    private static byte[] percentDecode(String raw, int from) throws BadKeyException {
        int length = raw.length();
        ByteBuffer out = ByteBuffer.allocate(4 * (length - from));
        for (int i = from; i < length; i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                if (i + 2 >= length) {
                    throw new BadKeyException("the key has a truncated percent-escape");
                }
                int hi = Character.digit(raw.charAt(i + 1), 16);
                int lo = Character.digit(raw.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    throw new BadKeyException("the key has an invalid percent-escape: " + raw.substring(i, i + 3));
                }
                out.put((byte) ((hi << 4) | lo));
                i += 2;
            } else if (c == '/') {
                throw new BadKeyException("a key is one path segment; encode '/' inside a key as %2F");
            } else if (c <= 0xFF) {
                // The HTTP decoder maps each request-line byte to one char (ISO-8859-1), so a raw
                // UTF-8 key arrives here byte by byte.
                out.put((byte) c);
            } else {
                int codePoint = raw.codePointAt(i);
                out.put(new String(Character.toChars(codePoint)).getBytes(StandardCharsets.UTF_8));
                i += Character.charCount(codePoint) - 1;
            }
        }
        byte[] bytes = new byte[out.position()];
        out.flip().get(bytes);
        return bytes;
    }
}
