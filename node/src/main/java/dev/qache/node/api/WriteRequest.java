package dev.qache.node.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.IOException;

/**
 * The body of {@code POST /{key}}: {@code {"value": <any JSON>, "ttl": <seconds or null>}}.
 *
 * <p>Parsed with Jackson's streaming parser, which validates the whole document, but the value is
 * kept as the exact bytes the client sent (the span of its tokens), so it is stored and returned
 * byte-for-byte, never re-serialized.
 *
 * @param body the whole request body; the value is {@code body[valueOffset, valueOffset + valueLength)}
 * @param valueOffset where the value's JSON text starts in the body
 * @param valueLength the length of the value's JSON text, exactly as sent
 * @param ttlSeconds 1 to {@link #MAX_TTL_SECONDS}, or {@link #NO_TTL}
 */
record WriteRequest(byte[] body, int valueOffset, int valueLength, long ttlSeconds) {

    static final long NO_TTL = 0;
    static final long MAX_TTL_SECONDS = 315_360_000L;

    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(256)
                    // Values are copied as text, never converted: only the body limit bounds them.
                    .maxStringLength(Integer.MAX_VALUE)
                    .maxNumberLength(Integer.MAX_VALUE)
                    .build())
            .build();

    /** A body that breaks the contract; the message is the problem's detail. */
    static final class BadRequestException extends Exception {
        final String slug;

        BadRequestException(String slug, String message) {
            super(message, null, false, false);
            this.slug = slug;
        }
    }

    /** The value is larger than the limit; only the size is known, the value is not copied. */
    static final class ValueTooLargeException extends Exception {
        final long valueBytes;

        ValueTooLargeException(long valueBytes) {
            super(null, null, false, false);
            this.valueBytes = valueBytes;
        }
    }

    static WriteRequest parse(byte[] body, long maxValueBytes) throws BadRequestException, ValueTooLargeException {
        int valueStart = -1;
        int valueEnd = -1;
        long ttl = NO_TTL;
        boolean ttlSeen = false;
        try (JsonParser parser = JSON.createParser(body)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new BadRequestException(
                        "malformed-body", "the body must be a JSON object with a \"value\" member");
            }
            JsonToken token;
            while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                parser.nextToken();
                switch (name) {
                    case "value" -> {
                        if (valueStart >= 0) {
                            throw new BadRequestException("malformed-body", "\"value\" appears more than once");
                        }
                        valueStart = (int) parser.currentTokenLocation().getByteOffset();
                        parser.skipChildren();
                        parser.finishToken();
                        valueEnd = (int) parser.currentLocation().getByteOffset();
                        if (valueStart < 0 || valueEnd < valueStart) {
                            throw new BadRequestException("malformed-body", "the body must be UTF-8 JSON");
                        }
                    }
                    case "ttl" -> {
                        if (ttlSeen) {
                            throw new BadRequestException("bad-ttl", "\"ttl\" appears more than once");
                        }
                        ttlSeen = true;
                        ttl = parseTtl(parser);
                    }
                    default ->
                        throw new BadRequestException(
                                "malformed-body",
                                "unknown member \"" + name + "\": the body has \"value\" and optionally \"ttl\"");
                }
            }
            if (token != JsonToken.END_OBJECT) {
                throw new BadRequestException("malformed-body", "the body must be one JSON object");
            }
            if (parser.nextToken() != null) {
                throw new BadRequestException("malformed-body", "unexpected content after the JSON object");
            }
        } catch (JsonProcessingException e) {
            throw new BadRequestException("malformed-body", "malformed JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new BadRequestException("malformed-body", "unreadable body: " + e.getMessage());
        }
        if (valueStart < 0) {
            throw new BadRequestException("missing-value", "the body has no \"value\" member");
        }
        long valueBytes = valueEnd - valueStart;
        if (valueBytes > maxValueBytes) {
            throw new ValueTooLargeException(valueBytes);
        }
        return new WriteRequest(body, valueStart, valueEnd - valueStart, ttl);
    }

    private static long parseTtl(JsonParser parser) throws IOException, BadRequestException {
        JsonToken token = parser.currentToken();
        if (token == JsonToken.VALUE_NULL) {
            return NO_TTL;
        }
        if (token != JsonToken.VALUE_NUMBER_INT) {
            throw new BadRequestException(
                    "bad-ttl",
                    "\"ttl\" must be a whole number of seconds from 1 to " + MAX_TTL_SECONDS + ", or null; got "
                            + describe(parser));
        }
        long ttl = parser.getNumberType() == JsonParser.NumberType.INT ? parser.getIntValue() : -1;
        if (ttl < 1 || ttl > MAX_TTL_SECONDS) {
            throw new BadRequestException(
                    "bad-ttl",
                    "\"ttl\" must be from 1 to " + MAX_TTL_SECONDS + " seconds, or null; got " + parser.getText());
        }
        return ttl;
    }

    private static String describe(JsonParser parser) throws IOException {
        return switch (parser.currentToken()) {
            case VALUE_NUMBER_FLOAT -> "the non-integer " + parser.getText();
            case VALUE_STRING -> "a string";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            default -> String.valueOf(parser.currentToken());
        };
    }
}
