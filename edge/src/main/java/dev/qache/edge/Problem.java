package dev.qache.edge;

import dev.qache.protocol.Problems;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;

/** Sends a problem+json response ({@link Problems}): node and router answer bad input alike. */
public final class Problem {

    public static final CharSequence PROBLEM_JSON = HttpHeaders.createOptimized(Problems.MEDIA_TYPE);

    private Problem() {}

    public static void send(HttpServerResponse response, int status, String slug, String title, String detail) {
        response.headers().set(HttpHeaders.CONTENT_TYPE, PROBLEM_JSON);
        response.setStatusCode(status).end(Buffer.buffer(Problems.body(status, slug, title, detail)));
    }
}
