package dev.qache.router.proxy;

import dev.qache.edge.ClusterTls;
import dev.qache.protocol.Fencing;
import dev.qache.router.config.RouterConfig;
import dev.qache.router.security.Credentials;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * {@link NodeTransport} over Vert.x' HTTP client: pooled keep-alive connections, one call at a
 * time on each, one pool per event-loop thread. The transport of TLS clusters, and of {@code
 * qache.router.node-transport=vertx}.
 */
/*
 * One client, so one connection pool, per event-loop thread: a request and its forwarded call
 * then run on the same thread from start to end, with no hand-off between event loops (measured
 * in docs/BENCHMARKS.md, "Router: what a hop through it adds"). No pipelining: Vert.x closes a
 * pipelined connection when one of its calls times out, failing the calls queued behind it.
 */
final class VertxNodeTransport implements NodeTransport {

    private final Vertx vertx;
    private final Credentials credentials;
    private final HttpClientOptions clientOptions;
    private final PoolOptions poolOptions;
    private final ThreadLocal<HttpClient> clients = ThreadLocal.withInitial(this::newClient);

    /** host and port of each node address, parsed once. */
    private final Map<String, NodeAddress> addresses = new ConcurrentHashMap<>();

    VertxNodeTransport(Vertx vertx, RouterConfig config, Credentials credentials, ClusterTls tls) {
        this.vertx = vertx;
        this.credentials = credentials;
        int timeoutMillis = (int) config.forwardTimeout().toMillis();
        this.clientOptions = tls.apply(new HttpClientOptions()
                .setKeepAlive(true)
                .setTcpNoDelay(true)
                .setConnectTimeout(timeoutMillis)
                .setIdleTimeout(60)
                .setIdleTimeoutUnit(TimeUnit.SECONDS));
        this.poolOptions = new PoolOptions().setHttp1MaxSize(config.connectionsPerNode());
    }

    private HttpClient newClient() {
        return vertx.createHttpClient(clientOptions, poolOptions);
    }

    @Override
    public Future<NodeAnswer> exchange(NodeCall call) {
        NodeAddress address = addresses.computeIfAbsent(call.node(), NodeAddress::parse);
        RequestOptions options = new RequestOptions()
                .setMethod(call.method())
                .setHost(address.host())
                .setPort(address.port())
                .setURI(call.uri())
                .setConnectTimeout(call.timeoutMillis())
                .setIdleTimeout(call.timeoutMillis())
                .putHeader(HttpHeaders.AUTHORIZATION, credentials.clusterAuthorization())
                .putHeader(Fencing.EPOCH, Long.toString(call.epoch()));
        if (call.requestId() != null) {
            options.putHeader(RequestIds.HEADER, call.requestId());
        }
        if (call.contentType() != null) {
            options.putHeader(HttpHeaders.CONTENT_TYPE, call.contentType());
        }
        return clients.get()
                .request(options)
                .compose(request -> call.body() == null ? request.send() : request.send(call.body()))
                .compose(response ->
                        response.body().map(bytes -> new NodeAnswer(response.statusCode(), response.headers(), bytes)));
    }
}
