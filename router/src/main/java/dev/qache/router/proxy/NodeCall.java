package dev.qache.router.proxy;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import org.jspecify.annotations.Nullable;

/**
 * One call to a node: {@code node} as {@code host:port}, the client's method, URI, content type
 * and body, bounded by {@code timeoutMillis}, carrying the router's map {@code epoch}. A {@code
 * guarded} call goes through the node's circuit breaker (one per node and kind: reads, writes).
 * {@code requestId} is the client request's {@code X-Request-Id} (null for none).
 */
public record NodeCall(
        String node,
        HttpMethod method,
        String uri,
        @Nullable String contentType,
        @Nullable Buffer body,
        long timeoutMillis,
        long epoch,
        boolean guarded,
        @Nullable String requestId) {}
