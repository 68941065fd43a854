package dev.qache.router.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qache.protocol.MapDocument;
import dev.qache.protocol.NodeStatus;
import dev.qache.protocol.Problems;
import dev.qache.router.cluster.ClusterMap;
import dev.qache.router.cluster.ClusterMapJson;
import dev.qache.router.cluster.ClusterState;
import dev.qache.router.cluster.Promoted;
import dev.qache.router.cluster.Shard;
import dev.qache.router.config.AdminConfig;
import dev.qache.router.control.ControlPlane;
import dev.qache.router.control.ControlState;
import dev.qache.router.control.CopiedSlot;
import dev.qache.router.control.PendingHandoff;
import dev.qache.router.control.RouterGroup;
import dev.qache.router.failover.Availability;
import dev.qache.router.failover.Failover;
import dev.qache.router.failover.MapPusher;
import dev.qache.router.failover.NodeMonitor;
import dev.qache.router.migration.Migration;
import dev.qache.router.migration.MigrationRunner;
import dev.qache.router.security.AdminTokenIdentityProvider;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.common.annotation.NonBlocking;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The admin API (DESIGN.md): the cluster map with per-node health and replication state, adding
 * shards and replicas, and forcing a promotion.
 *
 * <p>{@code GET /admin/cluster} answers from what the {@link NodeMonitor} learned at its last
 * probes (every 100 ms by default), so it never waits on a node: one that does not answer shows as
 * {@code suspect} or {@code down}.
 */
@Path("/admin")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(AdminTokenIdentityProvider.ADMIN)
public class AdminResource {

    private static final Pattern HOST_PORT = Pattern.compile("^[A-Za-z0-9.\\-]+:[0-9]{1,5}$");
    private static final Pattern SHARD_ID = Pattern.compile("^[A-Za-z0-9_\\-]{1,64}$");

    private static final ObjectMapper JSON = new ObjectMapper();

    private final ClusterState cluster;
    private final NodeMonitor monitor;
    private final Failover failover;
    private final Availability availability;
    private final MigrationRunner migrations;
    private final MapPusher pusher;
    private final AdminConfig config;
    private final ControlPlane plane;

    /** How long a map change waits for the primaries to take the new map before it is published. */
    private static final java.time.Duration PUSH_WAIT = java.time.Duration.ofSeconds(2);

    /** How long a node about to be added has to answer its status call. */
    private static final java.time.Duration NEW_NODE_TIMEOUT = java.time.Duration.ofSeconds(2);

    AdminResource(
            ClusterState cluster,
            NodeMonitor monitor,
            Failover failover,
            Availability availability,
            MigrationRunner migrations,
            MapPusher pusher,
            ControlPlane plane,
            AdminConfig config) {
        this.plane = plane;
        this.config = config;
        this.cluster = cluster;
        this.pusher = pusher;
        this.migrations = migrations;
        this.monitor = monitor;
        this.failover = failover;
        this.availability = availability;
    }

    /**
     * A node as the admin API shows it: its role in the map, its health as the failure detector
     * sees it ({@code up}, {@code suspect}, {@code down}), and from its last status: the role it
     * reports, its replication offset, how far it trails its primary (replicas), its link to the
     * primary, its store figures, and what is left of its write lease (a primary takes writes only
     * while that is above 0).
     */
    public record NodeView(
            String address,
            String role,
            String health,
            String reportedRole,
            Long offset,
            Long lagBytes,
            String link,
            Long keys,
            Long memoryUsedBytes,
            Long memoryLimitBytes,
            Long hits,
            Long misses,
            Long epoch,
            Long leaseRemainingMillis) {}

    /**
     * A shard: its slots, its nodes (the primary first), its last promotion (as the routers' group
     * recorded it), the graceful promotion under way if one is ({@code handoff}), and, while it
     * takes no writes because no replica may replace its down primary, why.
     */
    public record ShardView(
            String id,
            int slots,
            List<NodeView> nodes,
            @Nullable Promoted lastFailover,
            @Nullable PendingHandoff handoff,
            @Nullable String writesUnavailable) {}

    /**
     * The map with health: {@code slots} are the owners, {@code moving} the slots being copied to
     * another shard (each range names its target).
     */
    public record ClusterView(
            long epoch,
            List<ShardView> shards,
            List<MapDocument.SlotRange> slots,
            List<MapDocument.SlotRange> moving,
            RoutersView routers) {}

    /**
     * The routers' Raft group as this router sees it: which member answered ({@code self}), the
     * member it believes leads (null while it knows none), its term, and every member.
     */
    public record RoutersView(String self, @Nullable String leader, long term, List<RouterView> members) {}

    /** One member of the routers' group: its id, its Raft address, whether it leads. */
    public record RouterView(String id, String raftAddress, boolean leader) {}

    public record AddShard(String id, String primary, List<String> replicas) {}

    public record AddReplica(String address) {}

    public record Promote(String replica) {}

    @GET
    @Path("/cluster")
    @NonBlocking
    public ClusterView cluster() {
        ClusterMap map = cluster.current();
        Map<String, Integer> counts = map.slots().map(s -> s.counts()).orElse(Map.of());
        List<ShardView> shards = new ArrayList<>();
        for (Shard shard : map.shards().values()) {
            NodeStatus primary = monitor.status(shard.primary());
            Long primaryOffset = primary == null ? null : primary.offset();
            List<NodeView> nodes = new ArrayList<>();
            nodes.add(view(shard.primary(), "primary", null));
            shard.replicas().forEach(r -> nodes.add(view(r, "replica", primaryOffset)));
            shards.add(new ShardView(
                    shard.id(),
                    counts.getOrDefault(shard.id(), 0),
                    nodes,
                    failover.lastPromotion(shard.id()),
                    plane.applied().handoffs().get(shard.id()),
                    availability.blockedReason(shard.id())));
        }
        MapDocument document = ClusterMapJson.toDocument(map);
        return new ClusterView(
                map.epoch(),
                shards,
                document.slots(),
                document.moving() == null ? List.of() : document.moving(),
                routers());
    }

    private RoutersView routers() {
        RouterGroup group = plane.group();
        String leader = group.leader().orElse(null);
        List<RouterView> members = new ArrayList<>();
        for (RouterGroup.Peer peer : group.peers()) {
            members.add(new RouterView(
                    peer.id(), peer.host() + ":" + peer.port(), peer.id().equals(leader)));
        }
        return new RoutersView(group.self(), leader, group.term(), members);
    }

    private NodeView view(String address, String role, Long primaryOffset) {
        NodeStatus status = monitor.status(address);
        String health = monitor.health(address).name().toLowerCase(Locale.ROOT);
        if (status == null) {
            return new NodeView(
                    address,
                    role,
                    health.equals("up") ? "unknown" : health,
                    null,
                    null,
                    null,
                    null,
                    null,
                    null,
                    null,
                    null,
                    null,
                    null,
                    null);
        }
        long offset = status.offset();
        Long lag = primaryOffset == null ? null : Math.max(0, primaryOffset - offset);
        return new NodeView(
                address,
                role,
                health,
                status.role(),
                offset,
                role.equals("replica") ? lag : null,
                status.link(),
                status.keys(),
                status.memoryUsedBytes(),
                status.memoryLimitBytes(),
                status.hits(),
                status.misses(),
                status.epoch(),
                status.leaseRemainingMillis());
    }

    /**
     * Forces a promotion: of the named replica, or the best one. Graceful when the primary is
     * alive (writes pause until the replica has caught up, so none is lost). 200 with the new map;
     * 404 for an unknown shard; 409 when the shard has no such (or no answering) replica; 503 when
     * the replica did not catch up in time (nothing changed).
     */
    @POST
    @Path("/shards/{id}/promote")
    @Blocking
    @Consumes(MediaType.WILDCARD)
    public Response promote(@PathParam("id") String id, String body) {
        String replica;
        try {
            replica = body == null || body.isBlank()
                    ? null
                    : JSON.readValue(body, Promote.class).replica();
        } catch (IOException e) {
            return problem(400, "bad-request", "the body, when there is one, is {\"replica\": \"host:port\"}");
        }
        if (replica != null && !HOST_PORT.matcher(replica).matches()) {
            return problem(400, "bad-request", "\"replica\" must be host:port");
        }
        try {
            ClusterMap next = failover.force(id, replica);
            return Response.ok(ClusterMapJson.toDocument(next)).build();
        } catch (Failover.PromotionException refused) {
            return problem(
                    refused.status(),
                    refused.status() == 404 ? "not-found" : "promotion-refused",
                    refused.getMessage());
        }
    }

    /**
     * A primary asks to stop being one (it was told to shut down): its shard is handed to its best
     * replica, gracefully (writes pause until the replica has caught up, so none is lost). Takes
     * a cluster token as well as an admin token. 200 with the new map; 400 for an address that is
     * not host:port; 409 when the node is no shard's primary (nothing to hand over: it may go) or
     * its shard has no replica that answers; 503 when the replica did not catch up in time.
     */
    @POST
    @Path("/nodes/{address}/step-down")
    @Blocking
    @Consumes(MediaType.WILDCARD)
    @RolesAllowed({AdminTokenIdentityProvider.ADMIN, AdminTokenIdentityProvider.NODE})
    public Response stepDown(@PathParam("address") String address) {
        if (!HOST_PORT.matcher(address).matches()) {
            return problem(400, "bad-request", "the node's address must be host:port");
        }
        String shard = null;
        for (Shard s : cluster.current().shards().values()) {
            if (s.primary().equals(address)) {
                shard = s.id();
            }
        }
        if (shard == null) {
            return problem(409, "not-a-primary", address + " is no shard's primary: it has nothing to hand over");
        }
        try {
            ClusterMap next = failover.stepDown(shard, address);
            return Response.ok(ClusterMapJson.toDocument(next)).build();
        } catch (Failover.PromotionException refused) {
            return problem(refused.status(), "promotion-refused", refused.getMessage());
        }
    }

    /**
     * Starts removing a shard: its slots are copied to the others while every shard serves, then
     * it leaves the map. 202 with the map naming the moving slots; 404 for an unknown shard; 409
     * for the last shard or while another migration runs.
     */
    @DELETE
    @Path("/shards/{id}")
    @Blocking
    public Response removeShard(@PathParam("id") String id) throws IOException {
        if (!cluster.current().shards().containsKey(id)) {
            return problem(404, "not-found", "no shard " + id);
        }
        try {
            ClusterMap next = cluster.update(
                    map -> map.withShardRemoved(id), map -> pusher.pushToPrimariesAndWait(map, PUSH_WAIT));
            return Response.status(202).entity(ClusterMapJson.toDocument(next)).build();
        } catch (IllegalArgumentException conflict) {
            return problem(409, "conflict", conflict.getMessage());
        }
    }

    /** A migration as {@code GET /admin/migrations} shows it. */
    public record MigrationView(
            String id,
            String state,
            int slotsDone,
            int slotsTotal,
            long keysCopied,
            long bytesCopied,
            double bytesPerSecond,
            double etaSeconds,
            String reason,
            long rateLimitBytesPerSecond,
            int slotsResumed) {}

    /**
     * The migration under way, or the last one: progress, rate and ETA. The leader runs it and
     * reports its own view; another router reports the progress the group committed (slots and
     * bytes, no rate), or the last migration it ran itself if that one ended.
     */
    @GET
    @Path("/migrations")
    @NonBlocking
    public Map<String, List<MigrationView>> migrations() {
        Migration m = migrations.current();
        if (!plane.leads()) {
            ControlState committed = plane.applied();
            if (committed.planEpoch() >= 0) {
                return Map.of("migrations", List.of(committedView(committed)));
            }
            if (m != null && m.state() != Migration.State.DONE && m.state() != Migration.State.ABORTED) {
                m = null; // run when this router led, and finished by another since
            }
        }
        if (m == null) {
            return Map.of("migrations", List.of());
        }
        Migration.Progress p = m.progress(System.nanoTime());
        return Map.of(
                "migrations",
                List.of(new MigrationView(
                        m.id(),
                        p.state().name().toLowerCase(Locale.ROOT),
                        p.slotsDone(),
                        p.slotsTotal(),
                        p.keysCopied(),
                        p.bytesCopied(),
                        p.bytesPerSecond(),
                        p.etaSeconds(),
                        p.reason(),
                        p.rateLimit(),
                        p.slotsResumed())));
    }

    /** The migration the group has under way as a follower knows it: the slots committed as copied. */
    private MigrationView committedView(ControlState committed) {
        ClusterMap map = cluster.current();
        int done = 0;
        long keys = 0;
        long bytes = 0;
        for (Map.Entry<Integer, String> moving : map.moving().entrySet()) {
            CopiedSlot copied = committed.copied().get(moving.getKey());
            if (copied != null && copied.target().equals(moving.getValue())) {
                done++;
                keys += copied.keys();
                bytes += copied.bytes();
            }
        }
        return new MigrationView(
                "m" + committed.planEpoch(),
                Migration.State.STREAMING.name().toLowerCase(Locale.ROOT),
                done,
                map.moving().size(),
                keys,
                bytes,
                0,
                0,
                "as the routers' group committed it; the leader runs the copy",
                0,
                0);
    }

    /** Adds a replica to a shard; it does a full sync from the primary. 201 with the new map. */
    @POST
    @Path("/shards/{id}/replicas")
    @Consumes(MediaType.APPLICATION_JSON)
    @Blocking
    public Response addReplica(@PathParam("id") String id, AddReplica request) throws IOException {
        if (request == null
                || request.address() == null
                || !HOST_PORT.matcher(request.address()).matches()) {
            return problem(400, "bad-request", "\"address\" must be host:port");
        }
        Shard shard = cluster.current().shards().get(id);
        if (shard == null) {
            return problem(404, "not-found", "no shard " + id);
        }
        for (Shard other : cluster.current().shards().values()) {
            if (other.primary().equals(request.address()) || other.replicas().contains(request.address())) {
                return problem(409, "conflict", request.address() + " already serves shard " + other.id());
            }
        }
        Response silent = silentNode(List.of(request.address()));
        if (silent != null) {
            return silent;
        }
        List<String> replicas = new ArrayList<>(shard.replicas());
        replicas.add(request.address());
        try {
            ClusterMap next = cluster.update(map -> map.withShardMembers(new Shard(id, shard.primary(), replicas)));
            return Response.status(201).entity(ClusterMapJson.toDocument(next)).build();
        } catch (IllegalArgumentException conflict) {
            return problem(409, "conflict", conflict.getMessage());
        }
    }

    /**
     * Takes a replica out of its shard: a dead one, or one being replaced (add the new replica
     * first). The map no longer names it, so it is neither probed, nor promoted, nor waited for by
     * a migration's cut-over; a node still running gets the new map too, and, out of the map, stops
     * streaming and drops what it held. 200 with the new map; 400 for an address that is not
     * host:port; 404 for an unknown shard; 409 when the address is not one of the shard's replicas
     * (a primary: promote a replica first).
     */
    @DELETE
    @Path("/shards/{id}/replicas/{address}")
    @Blocking
    public Response removeReplica(@PathParam("id") String id, @PathParam("address") String address) throws IOException {
        if (!HOST_PORT.matcher(address).matches()) {
            return problem(400, "bad-request", "the replica's address must be host:port");
        }
        if (!cluster.current().shards().containsKey(id)) {
            return problem(404, "not-found", "no shard " + id);
        }
        try {
            ClusterMap next = cluster.update(map -> {
                Shard shard = map.shards().get(id);
                if (shard == null) {
                    throw new IllegalArgumentException("no shard " + id);
                }
                if (!shard.replicas().contains(address)) {
                    throw new IllegalArgumentException(address + " is not a replica of shard " + id
                            + (shard.primary().equals(address) ? ": it is its primary (promote a replica first)" : ""));
                }
                List<String> replicas = new ArrayList<>(shard.replicas());
                replicas.remove(address);
                return map.withShardMembers(new Shard(id, shard.primary(), replicas));
            });
            pusher.pushTo(address, next); // best effort: a dead replica does not answer
            return Response.ok(ClusterMapJson.toDocument(next)).build();
        } catch (IllegalArgumentException refused) {
            return problem(409, "conflict", refused.getMessage());
        }
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
        List<String> members = new ArrayList<>(replicas);
        members.add(0, request.primary());
        Response silent = silentNode(members);
        if (silent != null) {
            return silent;
        }
        Shard shard = new Shard(id, request.primary(), replicas);
        try {
            ClusterMap next = cluster.update(
                    map -> map.withShardAdded(shard), map -> pusher.pushToPrimariesAndWait(map, PUSH_WAIT));
            return Response.status(201).entity(ClusterMapJson.toDocument(next)).build();
        } catch (IllegalArgumentException conflict) {
            return problem(409, "conflict", conflict.getMessage());
        }
    }

    /** A 422 naming the first of {@code nodes} that does not answer a status call, or null. */
    private @Nullable Response silentNode(List<String> nodes) {
        if (!config.checkNewNodes()) {
            return null;
        }
        for (String node : nodes) {
            try {
                monitor.fetchStatus(node, NEW_NODE_TIMEOUT.toMillis())
                        .toCompletionStage()
                        .toCompletableFuture()
                        .get(NEW_NODE_TIMEOUT.toMillis() + 500, java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return problem(503, "interrupted", "interrupted while asking " + node + " for its status");
            } catch (Exception e) {
                String why = e instanceof java.util.concurrent.TimeoutException
                        ? "no answer within " + NEW_NODE_TIMEOUT.toMillis() + " ms"
                        : String.valueOf(e.getCause() == null ? e : e.getCause().getMessage());
                return problem(
                        422,
                        "node-unreachable",
                        "node " + node + " does not answer (" + why + "): start it, or check the address and"
                                + " its qache.cluster.token");
            }
        }
        return null;
    }

    private static String nextShardId(ClusterMap map) {
        for (int i = map.shards().size() + 1; ; i++) {
            if (!map.shards().containsKey("s" + i)) {
                return "s" + i;
            }
        }
    }

    private static Response problem(int status, String slug, String detail) {
        Map<Integer, String> titles = new LinkedHashMap<>(Map.of(
                400,
                "Bad Request",
                404,
                "Not Found",
                409,
                "Conflict",
                422,
                "Unprocessable Content",
                503,
                "Service Unavailable"));
        return Response.status(status)
                .type(Problems.MEDIA_TYPE)
                .entity(Problems.body(status, slug, titles.getOrDefault(status, "Error"), detail))
                .build();
    }
}
