package dev.qache.node.migration;

import dev.qache.edge.ClusterTls;
import dev.qache.edge.Problem;
import dev.qache.node.cluster.SlotOwnership;
import dev.qache.node.cluster.WriteLease;
import dev.qache.node.cluster.WritePause;
import dev.qache.node.config.NodeConfig;
import dev.qache.node.replication.Records;
import dev.qache.node.replication.Replication;
import dev.qache.node.security.Credentials;
import dev.qache.node.store.KeyHash;
import dev.qache.node.store.Store;
import dev.qache.protocol.Fencing;
import dev.qache.protocol.SlotCopy;
import dev.qache.protocol.SlotImported;
import dev.qache.protocol.Slots;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jboss.logging.Logger;

/**
 * A node's part in migrations (the protocol is described in {@link SlotCopy}).
 *
 * <p>Source: {@code GET /_internal/slots/{slot}?from=&max-bytes=} answers one chunk of the slot's
 * live entries as SET records (the replication format), in key-hash order from the store's
 * per-slot index, with the hash to continue from in {@link SlotCopy#NEXT}. Only the slot's owner's
 * primary, at an epoch at least the caller's, answers.
 *
 * <p>Target: {@code POST /_internal/slots/{slot}/import?from=host:port&attempt=n} pulls the chunks
 * one after another (so at most one chunk per slot is held) and stores each entry unless {@link
 * ImportTracker} says the key changed here since the import began, with {@link Store#putIfAbsent},
 * so a write made here always wins; a key found changed after its put (a removal raced it) is
 * removed again. Chunks are applied on a worker thread, within the hand-off pause ({@link
 * WritePause#tryEnter}), so client requests on the event loops never wait for a copy. An attempt
 * older than one begun since stops at its next chunk. Answers {@code {"keys", "bytes", "attempt",
 * "replicationId", "offset"}}.
 *
 * <p>When a new map takes slots away from this node's shard, their keys are dropped on a
 * background thread; a slot given back before its drop ran is dropped before the map is
 * acknowledged, so a new import never meets stale keys.
 */
@Singleton
public class SlotTransfer {

    private static final Logger LOG = Logger.getLogger(SlotTransfer.class);

    /** What applying one chunk came to. */
    private enum Applied {
        DONE,
        PAUSED,
        SUPERSEDED,
        NOT_IMPORTING
    }

    private final Store store;
    private final SlotOwnership ownership;
    private final ImportTracker tracker;
    private final Replication replication;
    private final HttpClient client;
    private final Vertx vertx;
    private final Credentials credentials;
    private final long chunkBytes;
    private final ExecutorService dropper = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("qache-slot-drop").factory());

    private final WriteLease lease;
    private final WritePause pause;

    SlotTransfer(
            Store store,
            SlotOwnership ownership,
            ImportTracker tracker,
            Replication replication,
            WriteLease lease,
            WritePause pause,
            Vertx vertx,
            Credentials credentials,
            ClusterTls tls,
            NodeConfig config) {
        this.store = store;
        this.lease = lease;
        this.pause = pause;
        this.ownership = ownership;
        this.tracker = tracker;
        this.replication = replication;
        this.vertx = vertx;
        this.credentials = credentials;
        this.chunkBytes = config.migration().chunkSize().asLongValue();
        this.client = vertx.createHttpClient(tls.apply(new HttpClientOptions()
                .setKeepAlive(true)
                .setTcpNoDelay(true)
                .setConnectTimeout(2_000)
                .setMaxPoolSize(8)));
    }

    void register(@Observes Router router) {
        credentials.internal(router, HttpMethod.GET, "/_internal/slots/:slot").handler(this::export);
        credentials
                .internal(router, HttpMethod.POST, "/_internal/slots/:slot/import")
                .handler(this::importSlot);
    }

    /**
     * After a map is installed: forget what finished imports tracked, and drop the keys of slots
     * that moved away on the background thread, one slot at a time (see {@link
     * SlotOwnership#dropIfPending}). Stale keys of slots this shard is about to serve were dropped
     * while the map was installed.
     */
    public void mapInstalled() {
        tracker.mapInstalled();
        if (!ownership.pendingDrops().isEmpty()) {
            dropper.execute(this::dropPending);
        }
    }

    private void dropPending() {
        BitSet pending = ownership.pendingDrops();
        long keys = 0;
        int slots = 0;
        for (int slot = pending.nextSetBit(0); slot >= 0; slot = pending.nextSetBit(slot + 1)) {
            int dropped = ownership.dropIfPending(slot, store::dropSlot);
            if (dropped >= 0) {
                keys += dropped;
                slots++;
            }
        }
        if (keys > 0) {
            LOG.infof("dropped %d keys of %d slots that moved to other shards", keys, slots);
        }
    }

    private static int slotParam(RoutingContext ctx) {
        try {
            int slot = Integer.parseInt(ctx.pathParam("slot"));
            return slot >= 0 && slot < Slots.COUNT ? slot : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private void export(RoutingContext ctx) {
        int slot = slotParam(ctx);
        long from;
        long maxBytes;
        try {
            from = Long.parseUnsignedLong(ctx.request().getParam("from", "0"));
            maxBytes = Long.parseLong(ctx.request().getParam("max-bytes", Long.toString(chunkBytes)));
        } catch (NumberFormatException e) {
            maxBytes = -1;
            from = 0;
        }
        if (slot < 0 || maxBytes < 1) {
            Problem.send(
                    ctx.response(),
                    400,
                    "bad-request",
                    "Bad Request",
                    "export needs a slot 0 to " + (Slots.COUNT - 1) + ", ?from=<key hash> and max-bytes > 0");
            return;
        }
        long requestEpoch = Fencing.epochOf(ctx.request().getHeader(Fencing.EPOCH));
        if (requestEpoch > ownership.epoch()) {
            ctx.response().putHeader(Fencing.REFUSED, Fencing.STALE_MAP);
            Problem.send(
                    ctx.response(),
                    421,
                    "stale-map",
                    "Misdirected Request",
                    "this node's map (epoch " + ownership.epoch() + ") is older than the caller's (" + requestEpoch
                            + ")");
            return;
        }
        if (!ownership.exports(slot)) {
            Problem.send(
                    ctx.response(),
                    409,
                    "not-owner",
                    "Conflict",
                    "this node is not the primary owning slot " + slot + " at epoch " + ownership.epoch());
            return;
        }
        long limit = Math.min(maxBytes, chunkBytes);
        long start = from;
        vertx.<Map.Entry<Buffer, OptionalLong>>executeBlocking(
                        () -> {
                            List<byte[]> entries = new ArrayList<>();
                            List<Long> expiries = new ArrayList<>();
                            OptionalLong next = store.scanSlot(slot, start, limit, (entry, expireAt) -> {
                                entries.add(entry);
                                expiries.add(expireAt);
                            });
                            return Map.entry(Buffer.buffer(Records.encodeSets(entries, expiries)), next);
                        },
                        false)
                .onComplete(result -> {
                    if (result.failed()) {
                        ctx.fail(result.cause());
                        return;
                    }
                    OptionalLong next = result.result().getValue();
                    if (next.isPresent()) {
                        ctx.response().putHeader(SlotCopy.NEXT, Long.toUnsignedString(next.getAsLong()));
                    }
                    ctx.response()
                            .putHeader(HttpHeaders.CONTENT_TYPE, "application/octet-stream")
                            .end(result.result().getKey());
                });
    }

    /** One copy attempt of one slot on its target, between chunks. */
    private static final class Run {
        final RoutingContext ctx;
        final int slot;
        final String from;
        final long attempt;
        long keys;
        long bytes;

        Run(RoutingContext ctx, int slot, String from, long attempt) {
            this.ctx = ctx;
            this.slot = slot;
            this.from = from;
            this.attempt = attempt;
        }
    }

    private void importSlot(RoutingContext ctx) {
        int slot = slotParam(ctx);
        String from = ctx.request().getParam("from");
        long attempt;
        try {
            attempt = Long.parseLong(ctx.request().getParam("attempt", "0"));
        } catch (NumberFormatException e) {
            attempt = -1;
        }
        if (slot < 0 || from == null || from.lastIndexOf(':') < 1 || attempt < 0) {
            Problem.send(
                    ctx.response(),
                    400,
                    "bad-request",
                    "Bad Request",
                    "import needs a slot, ?from=host:port and attempt >= 0");
            return;
        }
        if (ownership.role() != SlotOwnership.Role.PRIMARY || !ownership.importing(slot)) {
            Problem.send(
                    ctx.response(),
                    409,
                    "not-importing",
                    "Conflict",
                    "this node is not a primary importing slot " + slot + " at epoch " + ownership.epoch());
            return;
        }
        Run run = new Run(ctx, slot, from, attempt);
        switch (tracker.begin(slot, attempt)) {
            case SUPERSEDED -> superseded(run);
            case COMPLETE -> answer(run);
            case STARTED -> fetch(run, 0);
        }
    }

    private void fetch(Run run, long fromHash) {
        int colon = run.from.lastIndexOf(':');
        RequestOptions request = new RequestOptions()
                .setMethod(HttpMethod.GET)
                .setHost(run.from.substring(0, colon))
                .setPort(Integer.parseInt(run.from.substring(colon + 1)))
                .setURI("/_internal/slots/" + run.slot + "?from=" + Long.toUnsignedString(fromHash) + "&max-bytes="
                        + chunkBytes)
                .setIdleTimeout(10_000)
                .putHeader(Fencing.EPOCH, Long.toString(ownership.epoch()))
                .putHeader(HttpHeaders.AUTHORIZATION, credentials.clusterAuthorization());
        client.request(request)
                .compose(r -> r.send()
                        .compose(response -> response.statusCode() == 200
                                ? response.body()
                                        .map(body ->
                                                Map.entry(body, Optional.ofNullable(response.getHeader(SlotCopy.NEXT))))
                                : response.body()
                                        .compose(body -> Future.failedFuture(
                                                "the source answered " + response.statusCode() + " " + body))))
                .onComplete(fetched -> {
                    if (fetched.failed()) {
                        Problem.send(
                                run.ctx.response(),
                                502,
                                "source-failed",
                                "Bad Gateway",
                                "fetching slot " + run.slot + " from " + run.from + ": "
                                        + fetched.cause().getMessage());
                        return;
                    }
                    byte[] records = fetched.result().getKey().getBytes();
                    Optional<String> next = fetched.result().getValue();
                    vertx.executeBlocking(() -> apply(run, records), false).onComplete(applied -> {
                        if (applied.failed()) {
                            run.ctx.fail(applied.cause());
                            return;
                        }
                        run.bytes += records.length;
                        switch (applied.result()) {
                            case PAUSED -> paused(run);
                            case SUPERSEDED -> superseded(run);
                            case NOT_IMPORTING ->
                                Problem.send(
                                        run.ctx.response(),
                                        409,
                                        "not-importing",
                                        "Conflict",
                                        "a new map arrived meanwhile: this node no longer imports slot " + run.slot);
                            case DONE -> {
                                if (next.isPresent()) {
                                    fetch(run, Long.parseUnsignedLong(next.get()));
                                } else if (tracker.complete(run.slot, run.attempt)) {
                                    answer(run);
                                } else {
                                    superseded(run);
                                }
                            }
                        }
                    });
                });
    }

    /**
     * Stores the SET records of one chunk, on a worker thread. Each key that changed here since
     * the import began is left alone: checked before its put, and again after it, since a removal
     * (a delete, an expiry, an eviction) may have come in between; it is then removed again.
     */
    private Applied apply(Run run, byte[] records) {
        long now = System.nanoTime();
        if (!tracker.current(run.slot, run.attempt)) {
            return Applied.SUPERSEDED;
        }
        if (!pause.tryEnter(now, lease.valid(now, ownership.epoch()))) {
            return Applied.PAUSED;
        }
        try {
            if (ownership.role() != SlotOwnership.Role.PRIMARY || !ownership.importing(run.slot)) {
                return Applied.NOT_IMPORTING;
            }
            int slot = run.slot;
            Records.forEachSet(records, (key, buffer, valueOffset, valueLength, expireAt) -> {
                long hash = KeyHash.of(key);
                if (tracker.changed(slot, hash)) {
                    return;
                }
                byte[] stored = store.putIfAbsent(key, buffer, valueOffset, valueLength, expireAt);
                if (stored == null) {
                    return;
                }
                if (tracker.changed(slot, hash)) {
                    store.deleteIfSame(key, stored);
                } else {
                    run.keys++;
                }
            });
            return Applied.DONE;
        } finally {
            pause.exit();
        }
    }

    private void answer(Run run) {
        run.ctx
                .response()
                .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                .end(io.vertx.core.json.Json.encodeToBuffer(new SlotImported(
                        run.keys, run.bytes, run.attempt, replication.history(), replication.offset())));
    }

    private static void superseded(Run run) {
        Problem.send(
                run.ctx.response(),
                409,
                "superseded",
                "Conflict",
                "a newer copy attempt of slot " + run.slot + " than " + run.attempt + " has begun");
    }

    private static void paused(Run run) {
        run.ctx.response().putHeader(Fencing.REFUSED, Fencing.PAUSED);
        Problem.send(
                run.ctx.response(),
                503,
                "handing-off",
                "Service Unavailable",
                "this primary is handing its shard to a replica; the copy of slot " + run.slot + " stopped");
    }
}
