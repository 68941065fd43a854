package dev.qache.protocol.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Sends a request exactly as written, over a plain socket: HTTP clients normalise or re-encode
 * paths, which is precisely what a path-spelling test must not let them do.
 */
public final class RawHttp {

    private RawHttp() {}

    /** A response: its status, its headers as sent (lower-cased names), and its body. */
    public record Response(int status, String head, String body) {
        public @Nullable String header(String name) {
            String prefix = "\r\n" + name.toLowerCase(Locale.ROOT) + ":";
            String lower = head.toLowerCase(Locale.ROOT);
            int at = lower.indexOf(prefix);
            if (at < 0) {
                return null;
            }
            int end = head.indexOf("\r\n", at + prefix.length());
            return head.substring(at + prefix.length(), end < 0 ? head.length() : end)
                    .strip();
        }
    }

    public static String exchange(int port, String request) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    /** One request, {@code Connection: close}; {@code authorization} and {@code body} may be null. */
    public static Response send(
            int port, String method, String path, @Nullable String authorization, @Nullable String json)
            throws IOException {
        StringBuilder request = new StringBuilder()
                .append(method)
                .append(' ')
                .append(path)
                .append(" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        if (authorization != null) {
            request.append("Authorization: ").append(authorization).append("\r\n");
        }
        byte[] body = json == null ? new byte[0] : json.getBytes(StandardCharsets.UTF_8);
        if (json != null) {
            request.append("Content-Type: application/json\r\n");
        }
        request.append("Content-Length: ").append(body.length).append("\r\n\r\n");
        String raw = exchange(port, request + new String(body, StandardCharsets.ISO_8859_1));
        int headEnd = raw.indexOf("\r\n\r\n");
        String head = headEnd < 0 ? raw : raw.substring(0, headEnd);
        String rest = headEnd < 0 ? "" : raw.substring(headEnd + 4);
        int status = Integer.parseInt(head.substring(9, 12));
        return new Response(status, head, rest);
    }
}
