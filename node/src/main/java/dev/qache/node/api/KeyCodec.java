package dev.qache.node.api;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Turns the raw request path {@code /<segment>} into a key: the segment percent-decoded to bytes,
 * which must be valid UTF-8 of 1 to maxKeyBytes bytes. {@code %2F} decodes to a slash inside the
 * key ({@code a%2Fb} is the one key "a/b"); {@code +} is a plus, not a space, as in any path.
 */
final class KeyCodec {

    private KeyCodec() {}

    /** A decoded key: its UTF-8 bytes (stored) and its text (echoed in responses). */
    record Key(byte[] bytes, String text) {}

    /** Thrown for a path that does not name a valid key; the message is the problem's detail. */
    static final class BadKeyException extends Exception {
        BadKeyException(String message) {
            super(message, null, false, false);
        }
    }

    static Key decode(String rawPath, int maxKeyBytes) throws BadKeyException {
        if (rawPath.length() < 2 || rawPath.charAt(0) != '/') {
            throw new BadKeyException("the key is empty: use /{key} with a key of 1 to " + maxKeyBytes + " bytes");
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
        return new Key(bytes, text);
    }

    private static byte[] percentDecode(String raw, int from) throws BadKeyException {
        int length = raw.length();
        // Fast path: nothing escaped and all ASCII (the common case), one copy.
        boolean plain = true;
        for (int i = from; i < length; i++) {
            char c = raw.charAt(i);
            if (c == '%' || c >= 0x80) {
                plain = false;
                break;
            }
            if (c == '/') {
                throw new BadKeyException("a key is one path segment; encode '/' inside a key as %2F");
            }
        }
        if (plain) {
            byte[] out = new byte[length - from];
            for (int i = from; i < length; i++) {
                out[i - from] = (byte) raw.charAt(i);
            }
            return out;
        }
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
