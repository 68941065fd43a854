package dev.qache.node.api;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import dev.qache.edge.Problem;
import dev.qache.node.cluster.SlotOwnership;
import dev.qache.node.cluster.WriteLease;
import dev.qache.node.cluster.WritePause;
import dev.qache.node.config.NodeConfig;
import dev.qache.node.migration.ImportTracker;
import dev.qache.node.replication.Replication;
import dev.qache.node.security.Credentials;
import dev.qache.node.store.PutResult;
import dev.qache.node.store.Store;
import dev.qache.node.store.StoredValue;
import dev.qache.protocol.Fencing;
import dev.qache.protocol.KeyCodec;
import dev.qache.protocol.Problems;
import dev.qache.protocol.SlotCopy;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.nio.charset.StandardCharsets;
import org.jboss.logging.Logger;

/**
 * The data API: {@code POST /{key}}, {@code GET /{key}}, {@code DELETE /{key}} (DESIGN.md).
 *
 * <p>Every handler runs on the Vert.x event loop that received the request and completes there: the
 * store never blocks (a short segment lock at most), so there is no hop to a worker thread. A
 * rejected write changes nothing: every check runs before the store is touched.
 */
/*
 * Why a Vert.x route and not a Quarkus REST resource (docs/ARCHITECTURE.md, decision 1): the key
 * is the raw path segment, decoded here exactly once ("a%2Fb" is one key, which JAX-RS path
 * matching would have decoded into two segments), the value is copied as raw bytes from the body
 * into the response, and the response is assembled in one buffer with no object mapping. Quarkus
 * REST stays the tool for the internal and admin APIs.
 */
@Singleton
public class DataRoutes {

    private static final Logger LOG = Logger.getLogger(DataRoutes.class);

    /** One path segment: a key. Every other endpoint has at least two segments. */
    private static final String KEY_PATH = "^/[^/]+$";

    /** Room for the body's envelope around the value: {"value": ..., "ttl": 315360000} and spacing. */
    private static final int ENVELOPE_BYTES = 64 * 1024;

    private static final CharSequence APPLICATION_JSON = HttpHeaders.createOptimized("application/json");
    private static final CharSequence ALLOWED_METHODS = HttpHeaders.createOptimized("GET, POST, DELETE");
    private static final byte[] KEY_PREFIX = "{\"key\":\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] VALUE_PREFIX = "\",\"value\":".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TTL_PREFIX = ",\"ttl\":".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NULL_TTL_SUFFIX = "null}".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] BASELINE_BODY = ("{\"key\":\"baseline\",\"value\":\"" + "x".repeat(60)
                    + "\",\"ttl\":null}")
            .getBytes(StandardCharsets.US_ASCII);

    private final Store store;
    private final SlotOwnership ownership;
    private final ImportTracker imports;
    private final Replication replication;
    private final int maxKeyBytes;
    private final long maxValueBytes;
    private final boolean baselineRoute;

    private final Credentials credentials;
    private final WriteLease lease;
    private final WritePause pause;

    DataRoutes(
            Store store,
            SlotOwnership ownership,
            WriteLease lease,
            WritePause pause,
            ImportTracker imports,
            Replication replication,
            NodeConfig config,
            Credentials credentials) {
        this.replication = replication;
        this.store = store;
        this.lease = lease;
        this.pause = pause;
        this.credentials = credentials;
        this.imports = imports;
        this.ownership = ownership;
        this.maxKeyBytes = config.maxKeySize();
        this.maxValueBytes = config.maxValueSize().asLongValue();
        this.baselineRoute = config.bench().baselineRoute();
    }

    void register(@Observes Router router) {
        BodyHandler body = BodyHandler.create(false)
                .setBodyLimit(maxValueBytes + ENVELOPE_BYTES)
                .setPreallocateBodyBuffer(true);
        // With qache.data.tokens set, each route's first handler checks the token.
        credentials
                .data(router.routeWithRegex(HttpMethod.GET, KEY_PATH))
                .handler(this::get)
                .failureHandler(this::failed);
        // Two routes so the content type is checked before the body is read (Vert.x allows no
        // user handler ahead of a body handler within one route): requireJson calls next(). The
        // second is reached only through the first, which holds the token check.
        credentials.data(router.routeWithRegex(HttpMethod.POST, KEY_PATH)).handler(this::requireJson);
        router.routeWithRegex(HttpMethod.POST, KEY_PATH)
                .handler(body)
                .handler(this::post)
                .failureHandler(this::failed);
        credentials
                .data(router.routeWithRegex(HttpMethod.DELETE, KEY_PATH))
                .handler(this::delete)
                .failureHandler(this::failed);
        router.routeWithRegex(KEY_PATH).handler(this::methodNotAllowed);
        // "/" would be the empty key: say so rather than fall through to a bare 404.
        router.route("/").handler(this::emptyKey);
        if (baselineRoute) {
            credentials.data(router.get("/_bench/fixed")).handler(this::baseline);
        }
    }

    private void get(RoutingContext ctx) {
        KeyCodec.Key key = keyOf(ctx, Access.READ);
        if (key == null) {
            return;
        }
        HttpServerResponse response = ctx.response();
        if (!replication.readable()) {
            response.putHeader("Retry-After", "1");
            response.headers().set(Fencing.REFUSED, Fencing.SYNCING);
            Problem.send(
                    response,
                    503,
                    "syncing",
                    "Service Unavailable",
                    "this replica is in a full sync: it holds only part of its primary's keys");
            return;
        }
        StoredValue hit = store.get(key.bytes());
        if (hit == null) {
            if (imports.mayBeOnSource(key.bytes(), Fencing.epochOf(ctx.request().getHeader(Fencing.EPOCH)))) {
                response.headers().set(SlotCopy.IMPORT, SlotCopy.PENDING);
            }
            Problem.send(response, 404, "not-found", "Not Found", "no live value for this key");
            return;
        }
        byte[] escapedKey =
                key.jsonSafe() ? key.bytes() : JsonStringEncoder.getInstance().quoteAsUTF8(key.text());
        long ttl = hit.expireAtMillis() == Store.NO_EXPIRY
                ? -1
                : hit.remainingTtlSeconds(store.clock().currentTimeMillis());
        int valueLength = hit.valueLength();
        Buffer out = Buffer.buffer(KEY_PREFIX.length + escapedKey.length + VALUE_PREFIX.length + valueLength + 32)
                .appendBytes(KEY_PREFIX)
                .appendBytes(escapedKey)
                .appendBytes(VALUE_PREFIX)
                .appendBytes(hit.entry(), hit.valueOffset(), valueLength)
                .appendBytes(TTL_PREFIX);
        if (ttl < 0) {
            out.appendBytes(NULL_TTL_SUFFIX);
        } else {
            out.appendString(Long.toString(ttl)).appendByte((byte) '}');
        }
        response.headers().set(HttpHeaders.CONTENT_TYPE, APPLICATION_JSON);
        response.end(out);
    }

    private void requireJson(RoutingContext ctx) {
        String contentType = ctx.request().getHeader(HttpHeaders.CONTENT_TYPE);
        if (!isJson(contentType)) {
            Problem.send(
                    ctx.response(),
                    415,
                    "unsupported-media-type",
                    "Unsupported Media Type",
                    "send the body as Content-Type: application/json (UTF-8); got "
                            + (contentType == null ? "no Content-Type" : contentType));
            return;
        }
        ctx.next();
    }

    private void post(RoutingContext ctx) {
        KeyCodec.Key key = keyOf(ctx, Access.WRITE);
        if (key == null) {
            return;
        }
        HttpServerResponse response = ctx.response();
        Buffer bodyBuffer = ctx.body().buffer();
        byte[] bodyBytes = bodyBuffer == null ? new byte[0] : bodyBuffer.getBytes();
        WriteRequest write;
        try {
            write = WriteRequest.parse(bodyBytes, maxValueBytes);
        } catch (WriteRequest.BadRequestException e) {
            Problem.send(response, 400, e.slug, "Bad Request", e.getMessage());
            return;
        } catch (WriteRequest.ValueTooLargeException e) {
            valueTooLarge(response, e.valueBytes);
            return;
        }
        long expireAt = write.ttlSeconds() == WriteRequest.NO_TTL
                ? Store.NO_EXPIRY
                : store.clock().currentTimeMillis() + write.ttlSeconds() * 1000;
        PutResult result = store.put(key.bytes(), write.body(), write.valueOffset(), write.valueLength(), expireAt);
        switch (result) {
            case STORED -> response.setStatusCode(204).end();
            case TOO_LARGE ->
                Problem.send(
                        response,
                        507,
                        "insufficient-storage",
                        "Insufficient Storage",
                        "the entry needs more memory than this node's whole limit ("
                                + store.stats().limitBytes() + " bytes)");
            case NO_SPACE ->
                Problem.send(
                        response,
                        507,
                        "insufficient-storage",
                        "Insufficient Storage",
                        "no room could be made for the entry right now; retry");
        }
    }

    private void delete(RoutingContext ctx) {
        KeyCodec.Key key = keyOf(ctx, Access.DELETE);
        if (key == null) {
            return;
        }
        if (store.delete(key.bytes())) {
            ctx.response().setStatusCode(204).end();
        } else {
            Problem.send(ctx.response(), 404, "not-found", "Not Found", "no live value for this key");
        }
    }

    private void methodNotAllowed(RoutingContext ctx) {
        ctx.response().headers().set(HttpHeaders.ALLOW, ALLOWED_METHODS);
        Problem.send(
                ctx.response(),
                405,
                "method-not-allowed",
                "Method Not Allowed",
                ctx.request().method().name() + " is not part of the data API; use GET, POST or DELETE");
    }

    private void emptyKey(RoutingContext ctx) {
        Problem.send(
                ctx.response(),
                400,
                "bad-key",
                "Bad Request",
                "the key is empty: use /{key} with a key of 1 to " + maxKeyBytes + " bytes");
    }

    private void baseline(RoutingContext ctx) {
        ctx.response().headers().set(HttpHeaders.CONTENT_TYPE, APPLICATION_JSON);
        ctx.response().end(Buffer.buffer(BASELINE_BODY));
    }

    private void failed(RoutingContext ctx) {
        HttpServerResponse response = ctx.response();
        if (response.ended()) {
            return;
        }
        if (ctx.statusCode() == 413) {
            valueTooLarge(response, -1);
            return;
        }
        LOG.error(
                "data API request failed: " + ctx.request().method() + " "
                        + ctx.request().path(),
                ctx.failure());
        Problem.send(response, 500, "internal", "Internal Server Error", "the node failed to handle the request");
    }

    private void valueTooLarge(HttpServerResponse response, long valueBytes) {
        Problem.send(
                response,
                413,
                "value-too-large",
                "Content Too Large",
                (valueBytes >= 0 ? "the value is " + valueBytes + " bytes; " : "the body is too large; ")
                        + "the limit is " + maxValueBytes + " bytes");
    }

    /**
     * The request's key, or null once a 400 (bad key) or 421 (not this node's slot, or a write to a
     * replica) is sent.
     */
    private enum Access {
        READ,
        WRITE,
        DELETE
    }

    private KeyCodec.Key keyOf(RoutingContext ctx, Access access) {
        KeyCodec.Key key;
        try {
            key = KeyCodec.decode(ctx.request().path(), maxKeyBytes);
        } catch (KeyCodec.BadKeyException e) {
            Problem.send(ctx.response(), 400, "bad-key", "Bad Request", e.getMessage());
            return null;
        }
        String owner = switch (access) {
            case READ -> ownership.misdirectedTo(key.bytes());
            case WRITE -> ownership.writeMisdirectedTo(key.bytes());
            case DELETE -> ownership.deleteMisdirectedTo(key.bytes());
        };
        if (owner != null) {
            ctx.response().headers().set(HttpHeaders.CONTENT_TYPE, Problem.PROBLEM_JSON);
            ctx.response().headers().set(Fencing.REFUSED, Fencing.MISDIRECTED);
            ctx.response()
                    .setStatusCode(421)
                    .end(Buffer.buffer(Problems.misdirected(
                            ownership.misdirectedTo(key.bytes()) == null
                                    ? "this node takes no writes of the key: send them to " + owner
                                    : "this node does not serve the key's slot; its shard's primary is " + owner,
                            owner,
                            ownership.epoch())));
            return null;
        }
        if (access != Access.READ && !fenced(ctx)) {
            return null;
        }
        return key;
    }

    /*
     * Fencing (docs/ARCHITECTURE.md, "Fencing"): a write routed by a map newer than this node's is
     * refused, since under the newer map this node may no longer take it; and a primary applies
     * writes only while its lease runs, so once it was paused or cut off for longer than the lease
     * the writes that waited in its sockets are refused, not acknowledged after a replica may have
     * replaced it. Both refusals apply nothing, and say so (Qache-Refused) so the router may send
     * the write again where the map then says.
     */
    private boolean fenced(RoutingContext ctx) {
        long epoch = ownership.epoch();
        long requested = Fencing.epochOf(ctx.request().getHeader(Fencing.EPOCH));
        if (requested > epoch) {
            ctx.response().headers().set(Fencing.REFUSED, Fencing.STALE_MAP);
            Problem.send(
                    ctx.response(),
                    421,
                    "stale-map",
                    "Misdirected Request",
                    "the write was routed by the cluster map of epoch " + requested + "; this node has epoch " + epoch
                            + " and applies no write under an older map than the request's");
            return false;
        }
        long now = System.nanoTime();
        boolean leaseValid = lease.valid(now, epoch);
        if (pause.paused(now, leaseValid)) {
            ctx.response().headers().set(Fencing.REFUSED, Fencing.PAUSED);
            ctx.response().headers().set("Retry-After", "1");
            Problem.send(
                    ctx.response(),
                    503,
                    "handing-off",
                    "Service Unavailable",
                    "this primary is handing its shard to a replica; nothing was written");
            return false;
        }
        if (ownership.role() == SlotOwnership.Role.PRIMARY && !leaseValid) {
            ctx.response().headers().set(Fencing.REFUSED, Fencing.LEASE_LAPSED);
            ctx.response().headers().set("Retry-After", "1");
            Problem.send(
                    ctx.response(),
                    503,
                    "write-lease-lapsed",
                    "Service Unavailable",
                    "this primary's write lease is not running (the router has not renewed it lately, or has"
                            + " not confirmed this node as primary yet); nothing was written");
            return false;
        }
        return true;
    }

    /** {@code application/json}, any case, optionally with parameters; a charset must be UTF-8. */
    static boolean isJson(String contentType) {
        if (contentType == null) {
            return false;
        }
        int semicolon = contentType.indexOf(';');
        String mediaType = (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).trim();
        if (!mediaType.equalsIgnoreCase("application/json")) {
            return false;
        }
        if (semicolon < 0) {
            return true;
        }
        for (String parameter : contentType.substring(semicolon + 1).split(";")) {
            String[] nameValue = parameter.trim().split("=", 2);
            if (nameValue.length == 2 && nameValue[0].trim().equalsIgnoreCase("charset")) {
                String charset = nameValue[1].trim().replace("\"", "");
                if (!charset.equalsIgnoreCase("utf-8") && !charset.equalsIgnoreCase("utf8")) {
                    return false;
                }
            }
        }
        return true;
    }
}
