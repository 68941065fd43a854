package dev.qache.node.migration;

import dev.qache.edge.ClusterTls;
import dev.qache.node.api.Problem;
import dev.qache.node.cluster.SlotOwnership;
import dev.qache.node.cluster.WriteLease;
import dev.qache.node.cluster.WritePause;
import dev.qache.node.replication.Records;
import dev.qache.node.security.Credentials;
import dev.qache.node.store.Store;
import dev.qache.protocol.Fencing;
import dev.qache.protocol.Slots;
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
import java.nio.ByteBuffer;
import java.util.BitSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jboss.logging.Logger;

/**
 * A node's part in migrations.
 *
 * <p>{@code GET /_internal/slots/{slot}}: the slot's live entries as SET records (the replication
 * format), read from the store's per-slot index. {@code POST /_internal/slots/{slot}/import?from=
 * host:port}: this node (the slot's target) fetches them from the source and stores each with
 * {@link Store#putIfAbsent}, so a key written here since the migration began keeps its newer
 * value; a key deleted here meanwhile (a tombstone, kept while the slot is importing) is removed
 * again if the copy brought it back. Answers {@code {"keys": n, "bytes": b}}.
 *
 * <p>When a new map takes slots away from this node's shard, their keys are dropped on a
 * background thread; a slot given back before its drop ran is dropped before the map is
 * acknowledged, so a new import never meets stale keys.
 */
@Singleton
public class SlotTransfer {

    private static final Logger LOG = Logger.getLogger(SlotTransfer.class);
    private final Store store;
    private final SlotOwnership ownership;
    private final HttpClient client;
    private final Credentials credentials;
    private final Map<Integer, Set<ByteBuffer>> tombstones = new ConcurrentHashMap<>();
    private final ExecutorService dropper = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("qache-slot-drop").factory());

    private final WriteLease lease;
    private final WritePause pause;

    SlotTransfer(
            Store store,
            SlotOwnership ownership,
            WriteLease lease,
            WritePause pause,
            Vertx vertx,
            Credentials credentials,
            ClusterTls tls) {
        this.store = store;
        this.lease = lease;
        this.pause = pause;
        this.ownership = ownership;
        this.credentials = credentials;
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

    /** Before a client delete of {@code key}: remembered while its slot is importing. */
    public void deleting(byte[] key) {
        if (!ownership.importingAny()) {
            return; // the usual case: no migration, no second hash of the key
        }
        int slot = Slots.of(key);
        if (ownership.importing(slot)) {
            tombstones.computeIfAbsent(slot, s -> ConcurrentHashMap.newKeySet()).add(ByteBuffer.wrap(key.clone()));
        }
    }

    /**
     * After a map is installed: forget tombstones of finished imports, and drop the keys of slots
     * that moved away on the background thread, one slot at a time (see {@link
     * SlotOwnership#dropIfPending}). Stale keys of slots this shard is about to serve were dropped
     * while the map was installed.
     */
    public void mapInstalled() {
        tombstones.keySet().removeIf(slot -> !ownership.importing(slot));
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
        if (slot < 0) {
            Problem.send(ctx.response(), 400, "bad-request", "Bad Request", "a slot is 0 to " + (Slots.COUNT - 1));
            return;
        }
        Buffer out = Buffer.buffer();
        store.scanSlot(slot, (entry, expireAt) -> Records.encodeSet(entry, expireAt, out));
        ctx.response()
                .putHeader(HttpHeaders.CONTENT_TYPE, "application/octet-stream")
                .end(out);
    }

    private void importSlot(RoutingContext ctx) {
        int slot = slotParam(ctx);
        String from = ctx.request().getParam("from");
        if (slot < 0 || from == null || from.lastIndexOf(':') < 1) {
            Problem.send(ctx.response(), 400, "bad-request", "Bad Request", "import needs a slot and ?from=host:port");
            return;
        }
        int colon = from.lastIndexOf(':');
        RequestOptions request = new RequestOptions()
                .setMethod(HttpMethod.GET)
                .setHost(from.substring(0, colon))
                .setPort(Integer.parseInt(from.substring(colon + 1)))
                .setURI("/_internal/slots/" + slot)
                .setIdleTimeout(10_000)
                .putHeader(HttpHeaders.AUTHORIZATION, credentials.clusterAuthorization());
        client.request(request)
                .compose(r -> r.send()
                        .compose(response -> response.statusCode() == 200
                                ? response.body()
                                : io.vertx.core.Future.failedFuture("the source answered " + response.statusCode())))
                .onComplete(result -> {
                    if (result.failed()) {
                        Problem.send(
                                ctx.response(),
                                502,
                                "source-failed",
                                "Bad Gateway",
                                "fetching slot " + slot + " from " + from + ": "
                                        + result.cause().getMessage());
                        return;
                    }
                    long now = System.nanoTime();
                    if (pause.paused(now, lease.valid(now, ownership.epoch()))) {
                        ctx.response().putHeader(Fencing.REFUSED, Fencing.PAUSED);
                        Problem.send(
                                ctx.response(),
                                503,
                                "handing-off",
                                "Service Unavailable",
                                "this primary is handing its shard to a replica; slot " + slot + " was not imported");
                        return;
                    }
                    long[] counts = apply(slot, result.result().getBytes());
                    ctx.response()
                            .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                            .end("{\"keys\":" + counts[0] + ",\"bytes\":" + counts[1] + "}");
                });
    }

    /** Stores the SET records of {@code records}; returns {keys stored, bytes read}. */
    long[] apply(int slot, byte[] records) {
        long[] keys = {0};
        Records.forEachSet(records, (key, buffer, valueOffset, valueLength, expireAt) -> {
            byte[] stored = store.putIfAbsent(key, buffer, valueOffset, valueLength, expireAt);
            if (stored == null) {
                return;
            }
            // Looked up after the put, as a delete records its tombstone before deleting.
            Set<ByteBuffer> deleted = tombstones.get(slot);
            if (deleted != null && deleted.contains(ByteBuffer.wrap(key))) {
                store.deleteIfSame(key, stored);
            } else {
                keys[0]++;
            }
        });
        return new long[] {keys[0], records.length};
    }
}
