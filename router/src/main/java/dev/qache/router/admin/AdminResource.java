package dev.qache.router.admin;

import dev.qache.protocol.MapDocument;
import dev.qache.protocol.Problems;
import dev.qache.router.cluster.ClusterMap;
import dev.qache.router.cluster.ClusterMapJson;
import dev.qache.router.cluster.ClusterState;
import dev.qache.router.cluster.Shard;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.ext.web.client.WebClient;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The admin API (DESIGN.md): the cluster map with per-node health, and adding shards.
 *
 * <p>Under failure: {@code GET /admin/cluster} asks every node for its readiness with a short
 * timeout and reports a node that does not answer as {@code down} rather than failing the call.
 */
@Path("/admin")
@Produces(MediaType.APPLICATION_JSON)
public class AdminResource {

    private static final Pattern HOST_PORT = Pattern.compile("^[A-Za-z0-9.\\-]+:[0-9]{1,5}$");
    private static final Pattern SHARD_ID = Pattern.compile("^[A-Za-z0-9_\\-]{1,64}$");
    private static final Duration NODE_TIMEOUT = Duration.ofMillis(500);

    private final ClusterState cluster;
    private final WebClient client;

    AdminResource(ClusterState cluster, Vertx vertx) {
        this.cluster = cluster;
        this.client = WebClient.create(vertx, new WebClientOptions().setConnectTimeout((int) NODE_TIMEOUT.toMillis()));
    }

    /** A node as the admin API shows it: its role, whether it answers, and its store figures. */
    public record NodeView(
            String address, String role, String health, Long keys, Long memoryUsedBytes, Long memoryLimitBytes) {}

    public record ShardView(String id, int slots, List<NodeView> nodes) {}

    public record ClusterView(long epoch, List<ShardView> shards, List<MapDocument.SlotRange> slots) {}

    public record AddShard(String id, String primary, List<String> replicas) {}

    @GET
    @Path("/cluster")
    public Uni<ClusterView> cluster() {
        ClusterMap map = cluster.current();
        Map<String, Integer> counts = map.slots().map(s -> s.counts()).orElse(Map.of());
        List<Uni<ShardView>> shards = new ArrayList<>();
        for (Shard shard : map.shards().values()) {
            List<Uni<NodeView>> nodes = new ArrayList<>();
            nodes.add(probe(shard.primary(), "primary"));
            shard.replicas().forEach(r -> nodes.add(probe(r, "replica")));
            shards.add(Uni.join()
                    .all(nodes)
                    .andFailFast()
                    .map(views -> new ShardView(shard.id(), counts.getOrDefault(shard.id(), 0), views)));
        }
        Uni<List<ShardView>> all = shards.isEmpty()
                ? Uni.createFrom().item(List.of())
                : Uni.join().all(shards).andFailFast();
        return all.map(views -> new ClusterView(
                map.epoch(), views, ClusterMapJson.toDocument(map).slots()));
    }

    private Uni<NodeView> probe(String address, String role) {
        int colon = address.lastIndexOf(':');
        return client.get(
                        Integer.parseInt(address.substring(colon + 1)), address.substring(0, colon), "/q/health/ready")
                .timeout(NODE_TIMEOUT.toMillis())
                .send()
                .map(response -> {
                    JsonObject data = storeData(response.bodyAsJsonObject());
                    return new NodeView(
                            address,
                            role,
                            response.statusCode() == 200 ? "up" : "not-ready",
                            data == null ? null : data.getLong("keys"),
                            data == null ? null : data.getLong("memoryUsedBytes"),
                            data == null ? null : data.getLong("memoryLimitBytes"));
                })
                .onFailure()
                .recoverWithItem(new NodeView(address, role, "down", null, null, null));
    }

    private static JsonObject storeData(JsonObject health) {
        if (health == null || health.getJsonArray("checks") == null) {
            return null;
        }
        for (Object check : health.getJsonArray("checks")) {
            if (check instanceof JsonObject c && "store".equals(c.getString("name"))) {
                return c.getJsonObject("data");
            }
        }
        return null;
    }

    /** Adds a shard. 201 with the new map; 400 for bad input; 409 when it clashes with the map. */
    @POST
    @Path("/shards")
    @Consumes(MediaType.APPLICATION_JSON)
    @Blocking
    public Response addShard(AddShard request) throws IOException {
        if (request == null
                || request.primary() == null
                || !HOST_PORT.matcher(request.primary()).matches()) {
            return problem(400, "bad-request", "\"primary\" must be host:port");
        }
        List<String> replicas = request.replicas() == null ? List.of() : request.replicas();
        for (String replica : replicas) {
            if (replica == null || !HOST_PORT.matcher(replica).matches()) {
                return problem(400, "bad-request", "every replica must be host:port; got " + replica);
            }
        }
        String id = request.id() == null ? nextShardId(cluster.current()) : request.id();
        if (!SHARD_ID.matcher(id).matches()) {
            return problem(400, "bad-request", "\"id\" must be 1 to 64 letters, digits, '-' or '_'");
        }
        Shard shard = new Shard(id, request.primary(), replicas);
        try {
            ClusterMap next = cluster.update(map -> map.withShardAdded(shard));
            return Response.status(201).entity(ClusterMapJson.toDocument(next)).build();
        } catch (IllegalArgumentException conflict) {
            return problem(409, "conflict", conflict.getMessage());
        }
    }

    private static String nextShardId(ClusterMap map) {
        for (int i = map.shards().size() + 1; ; i++) {
            if (!map.shards().containsKey("s" + i)) {
                return "s" + i;
            }
        }
    }

    private static Response problem(int status, String slug, String detail) {
        Map<Integer, String> titles = new LinkedHashMap<>(Map.of(400, "Bad Request", 409, "Conflict"));
        return Response.status(status)
                .type(Problems.MEDIA_TYPE)
                .entity(Problems.body(status, slug, titles.getOrDefault(status, "Error"), detail))
                .build();
    }
}
