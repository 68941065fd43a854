package dev.qache.router.cluster;

import io.vertx.core.Future;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The cluster maps nodes hold ({@code GET /_internal/cluster-map}): what a router that lost its
 * own map adopts. Epochs only grow, so the newest map any node holds is the one the cluster runs
 * on.
 */
public final class NodeMaps {

    private NodeMaps() {}

    /** The map {@code address} holds; fails when it has none or does not answer. */
    public static Future<ClusterMap> fetch(HttpClient client, String address, String authorization) {
        int colon = address.lastIndexOf(':');
        RequestOptions request = new RequestOptions()
                .setMethod(HttpMethod.GET)
                .setHost(address.substring(0, colon))
                .setPort(Integer.parseInt(address.substring(colon + 1)))
                .setURI("/_internal/cluster-map")
                .setIdleTimeout(2_000)
                .putHeader("Authorization", authorization);
        return client.request(request)
                .compose(r -> r.send())
                .compose(response -> response.body().map(body -> {
                    if (response.statusCode() != 200) {
                        throw new IllegalStateException("answered " + response.statusCode() + " " + body);
                    }
                    try {
                        return ClusterMapJson.read(body.getBytes());
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }));
    }

    /** A node's map, and which node held it. */
    public record Held(String node, ClusterMap map) {}

    /**
     * The newest map any of {@code nodes} holds, asking them all at once and waiting at most
     * {@code timeout}; empty when none answers with one. Blocks: not on an event loop.
     */
    public static Optional<Held> newest(
            HttpClient client, Collection<String> nodes, String authorization, Duration timeout) {
        List<CompletableFuture<@Nullable Held>> asked = new ArrayList<>();
        for (String node : nodes) {
            asked.add(fetch(client, node, authorization)
                    .map(map -> new Held(node, map))
                    .otherwise((Held) null)
                    .toCompletionStage()
                    .toCompletableFuture());
        }
        try {
            CompletableFuture.allOf(asked.toArray(CompletableFuture[]::new))
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            // Some node did not answer in time: the others' answers count.
        }
        Held newest = null;
        for (CompletableFuture<@Nullable Held> answer : asked) {
            Held held = answer.getNow(null);
            if (held != null
                    && (newest == null || held.map().epoch() > newest.map().epoch())) {
                newest = held;
            }
        }
        return Optional.ofNullable(newest);
    }
}
