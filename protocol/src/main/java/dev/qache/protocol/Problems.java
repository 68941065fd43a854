package dev.qache.protocol;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.nio.charset.StandardCharsets;

/**
 * RFC 9457 problem details as node and router write them: {@code type} is
 * {@code urn:qache:problem:<slug>} (docs/API.md lists the slugs), with {@code title},
 * {@code status} and {@code detail}.
 */
public final class Problems {

    public static final String MEDIA_TYPE = "application/problem+json";

    private Problems() {}

    public static byte[] body(int status, String slug, String title, String detail) {
        return (members(status, slug, title, detail) + "}").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * A 421: the node does not take the call; {@code owner} is where it belongs as of the node's
     * map, {@code epoch} that map's epoch (a router that has not published it yet waits for it).
     */
    public static byte[] misdirected(String detail, String owner, long epoch) {
        JsonStringEncoder json = JsonStringEncoder.getInstance();
        return (members(421, "misdirected", "Misdirected Request", detail) + ",\"owner\":\""
                        + new String(json.quoteAsString(owner)) + "\",\"epoch\":" + epoch + "}")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static String members(int status, String slug, String title, String detail) {
        JsonStringEncoder json = JsonStringEncoder.getInstance();
        return "{\"type\":\"urn:qache:problem:" + slug + "\",\"title\":\"" + new String(json.quoteAsString(title))
                + "\",\"status\":" + status + ",\"detail\":\"" + new String(json.quoteAsString(detail)) + "\"";
    }
}
