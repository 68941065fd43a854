package dev.qache.node.api;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qache.edge.Problem;
import dev.qache.node.cluster.SlotOwnership;
import dev.qache.node.cluster.WriteLease;
import dev.qache.node.migration.SlotTransfer;
import dev.qache.node.replication.Replication;
import dev.qache.node.security.Credentials;
import dev.qache.node.store.Store;
import dev.qache.protocol.Fencing;
import dev.qache.protocol.MapDocument;
import dev.qache.protocol.NodeStatus;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

/**
 * Internal calls from the router, under {@code /_internal/...}, each with {@code Authorization:
 * Bearer <qache.cluster.token>} (checked by the route's own guard, see {@link Credentials}).
 *
 * <p>{@code PUT /_internal/cluster-map?self=host:port} installs a pushed cluster map: {@code 204}
 * when accepted, {@code 409} when its epoch is older than the node's (fencing) or when it has the
 * node's epoch with other content ({@code map-conflict}, counted in {@code
 * qache_map_conflicts_total}: each epoch has one content) or when it is of a newer format
 * than this node reads ({@code map-format}; members it does not know are ignored), {@code 400}
 * for a map that does not parse or does not cover the slots. {@code GET /_internal/cluster-map} gives the map the node
 * holds ({@code 404} before its first), so that a router that lost its own can adopt the newest.
 *
 * <p>{@code GET /_internal/replication} opens a replica's stream (a WebSocket; see {@link
 * Replication}). {@code GET /_internal/status} gives this node's role, epoch, replication offset,
 * its replicas' acknowledged offsets and lag, and its key count and memory, as JSON: what the
 * router's failure detector and admin view read.
 *
 * <p>A status probe or a map push may carry a write lease ({@link Fencing}), naming the nonce of
 * an earlier status answer ({@code leaseNonce}): see {@link WriteLease} for when it is taken.
 *
 * <p>Every JSON reader here ignores members it does not know: a newer router may send more.
 */
@Singleton
public class InternalRoutes {

    private static final Logger LOG = Logger.getLogger(InternalRoutes.class);
    private static final ObjectMapper JSON =
            new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private final SlotOwnership ownership;
    private final Replication replication;
    private final SlotTransfer slots;
    private final Store store;
    private final Credentials credentials;
    private final WriteLease lease;
    private final Counter conflicts;

    InternalRoutes(
            SlotOwnership ownership,
            WriteLease lease,
            Replication replication,
            Store store,
            SlotTransfer slots,
            Credentials credentials,
            MeterRegistry registry) {
        this.conflicts = Counter.builder("qache.map.conflicts")
                .description("Pushed maps refused for having this node's epoch with other content")
                .register(registry);
        this.ownership = ownership;
        this.lease = lease;
        this.slots = slots;
        this.replication = replication;
        this.store = store;
        this.credentials = credentials;
    }

    void register(@Observes Router router) {
        credentials
                .internalWithBody(router, HttpMethod.PUT, "/_internal/cluster-map", 16L << 20)
                .handler(this::installMap);
        credentials.internal(router, HttpMethod.GET, "/_internal/cluster-map").handler(this::map);
        credentials.internal(router, HttpMethod.GET, "/_internal/replication").handler(replication::serve);
        credentials.internal(router, HttpMethod.GET, "/_internal/status").handler(this::status);
        credentials.internal(router, HttpMethod.POST, "/_internal/handoff").handler(replication::handoff);
        credentials.internal(router, HttpMethod.DELETE, "/_internal/handoff").handler(replication::cancelHandoff);
    }

    private void status(RoutingContext ctx) {
        grantLease(ctx);
        NodeStatus status = replication.status(System.nanoTime());
        try {
            ctx.response()
                    .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                    .end(Buffer.buffer(JSON.writeValueAsBytes(status)));
        } catch (Exception e) {
            ctx.fail(e);
        }
    }

    private void map(RoutingContext ctx) {
        MapDocument map = ownership.map();
        if (map == null) {
            Problem.send(ctx.response(), 404, "no-map", "Not Found", "this node has not been given a cluster map yet");
            return;
        }
        try {
            ctx.response()
                    .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                    .end(Buffer.buffer(JSON.writeValueAsBytes(map)));
        } catch (Exception e) {
            ctx.fail(e);
        }
    }

    /** Takes the write lease a request carries, if any (see {@link WriteLease#grant}). */
    private void grantLease(RoutingContext ctx) {
        String millis = ctx.request().getHeader(Fencing.LEASE_MILLIS);
        if (millis == null) {
            return;
        }
        String history = ctx.request().getHeader(Fencing.LEASE_HISTORY);
        lease.grant(
                Fencing.numberOf(ctx.request().getHeader(Fencing.LEASE_NONCE)),
                Fencing.epochOf(ctx.request().getHeader(Fencing.LEASE_EPOCH)),
                history == null ? "" : history,
                Fencing.numberOf(millis),
                ownership.epoch(),
                replication.history());
    }

    private void installMap(RoutingContext ctx) {
        String self = ctx.request().getParam("self");
        if (self == null || self.isBlank()) {
            Problem.send(ctx.response(), 400, "bad-request", "Bad Request", "name this node with ?self=host:port");
            return;
        }
        MapDocument map;
        try {
            map = JSON.readValue(ctx.body().buffer().getBytes(), MapDocument.class);
            map.slotOwners();
        } catch (Exception e) {
            Problem.send(ctx.response(), 400, "bad-map", "Bad Request", "not a valid cluster map: " + e.getMessage());
            return;
        }
        if (!map.readable()) {
            Problem.send(
                    ctx.response(),
                    409,
                    "map-format",
                    "Conflict",
                    "the map is of format " + map.format() + "; this node reads formats up to " + MapDocument.FORMAT
                            + ": upgrade it before the routers");
            return;
        }
        long before = ownership.epoch();
        SlotOwnership.Outcome outcome = replication.install(map, self);
        if (outcome == SlotOwnership.Outcome.CONFLICT) {
            conflicts.increment();
            LOG.errorf(
                    "refused a cluster map of epoch %d with other content than the one this node holds"
                            + " at that epoch: two routers, or one that lost its state, made different maps",
                    map.epoch());
            Problem.send(
                    ctx.response(),
                    409,
                    "map-conflict",
                    "Conflict",
                    "this node holds another map of epoch " + map.epoch()
                            + "; a map's content never changes without a new epoch");
            return;
        }
        if (outcome == SlotOwnership.Outcome.STALE) {
            Problem.send(
                    ctx.response(),
                    409,
                    "stale-epoch",
                    "Conflict",
                    "epoch " + map.epoch() + " is older than this node's " + ownership.epoch());
            return;
        }
        if (map.epoch() != before) {
            LOG.infof(
                    "installed cluster map epoch %d (was %d): this node (%s) serves shard %s",
                    map.epoch(), before, self, ownership.shardId());
        }
        grantLease(ctx);
        // Stale keys of slots this shard is about to serve went while the map was installed,
        // before the router hears 204; keys of slots that moved away go in the background.
        slots.mapInstalled();
        ctx.response().setStatusCode(204).end();
    }
}
