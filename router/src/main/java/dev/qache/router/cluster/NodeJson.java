package dev.qache.router.cluster;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/**
 * Reads the answers of nodes' internal endpoints into their {@code dev.qache.protocol} records
 * ({@code NodeStatus}, {@code SlotImported}, {@code HandedOff}), tolerating the next release:
 * members this one does not know are skipped, missing ones read as nothing known.
 */
public final class NodeJson {

    private static final ObjectMapper MAPPER =
            new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private NodeJson() {}

    /** {@code body} as a {@code type}; an {@link IllegalStateException} naming {@code what} if it is not one. */
    public static <T> T read(byte[] body, Class<T> type, String what) {
        try {
            return MAPPER.readValue(body, type);
        } catch (IOException e) {
            throw new IllegalStateException("an unreadable " + what + ": " + e.getMessage(), e);
        }
    }
}
