package dev.qache.node.api;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;

/**
 * Writes RFC 9457 problem details ({@code application/problem+json}). The {@code type} is a URN
 * naming the problem ({@code urn:qache:problem:bad-ttl}); docs/API.md lists them.
 */
final class Problem {

    static final CharSequence PROBLEM_JSON = HttpHeaders.createOptimized("application/problem+json");

    private Problem() {}

    static void send(HttpServerResponse response, int status, String slug, String title, String detail) {
        JsonStringEncoder json = JsonStringEncoder.getInstance();
        String body =
                "{\"type\":\"urn:qache:problem:" + slug + "\",\"title\":\"" + new String(json.quoteAsString(title))
                        + "\",\"status\":" + status + ",\"detail\":\"" + new String(json.quoteAsString(detail)) + "\"}";
        MultiMap headers = response.headers();
        headers.set(HttpHeaders.CONTENT_TYPE, PROBLEM_JSON);
        response.setStatusCode(status).end(Buffer.buffer(body));
    }
}
