package dev.qache.router.proxy;

import dev.qache.protocol.Fencing;
import dev.qache.router.config.RouterConfig;
import dev.qache.router.security.Credentials;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxException;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.impl.headers.HeadersAdaptor;
import io.vertx.core.impl.ContextInternal;
import io.vertx.core.impl.VertxInternal;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * {@link NodeTransport} over Netty's HTTP/1.1 codec, on the router's own event loops: every call
 * to a node made in one event-loop turn leaves in one write, up to {@code pipelining-limit} calls
 * are in flight on a connection, and a call that times out leaves its connection open (its late
 * answer is read and dropped).
 */
/*
 * Why not Vert.x' client: it flushes each request on its own, so a burst of calls to one node
 * costs a write(2) each, and it closes a pipelined connection when one of its calls times out,
 * failing every call queued behind it with an outcome the router cannot know (a hedged GET times
 * out on purpose after replica-read-after). Here:
 *
 * - Per event-loop thread, per node, a few connections, each created on that thread's Netty event
 *   loop (the one of the Vert.x context that received the request), so a request and its call
 *   never change threads. A call goes on the open connection with the fewest calls in flight; a
 *   new connection is opened only when every open one has pipelining-limit in flight (and at most
 *   connections-per-node). So under load calls bunch up on few connections, and the node, which
 *   answers every request it read in one go with one write, answers them together too.
 * - A call is written but not flushed; the first write of a turn schedules one task on the event
 *   loop, which Netty runs after the turn's I/O, and that task flushes every connection written
 *   to: one writev per node per turn, however many requests the turn forwarded.
 * - Answers come back in the order of the calls (HTTP/1.1), so each connection keeps its calls in
 *   a queue. A call that times out fails at once but keeps its place; its answer, when it comes,
 *   is dropped. The connection is stalled when the oldest call still waiting on it has had no
 *   answer for twice the longest timeout of the calls waiting on it, counted from when the oldest
 *   was written or from the last answer, whichever is later: then it is closed (the node is gone
 *   or frozen), and so is one that answers out of turn. The longest timeout, not the one that
 *   just ran out nor the oldest call's: a hedged GET of 250 ms must close neither the connection
 *   a slow write waits on behind it nor the one the GET sent again to the same primary (after a
 *   replica in a full sync declined it) waits on behind it. Checked only once a call on it has
 *   timed out, and never while it is still connecting.
 * - Failures: a call that was never written (the connection could not be opened, or was not open
 *   before the call's timeout) fails with a ConnectException, which routing reads as "provably
 *   not applied"; a call lost with its connection, written or not yet answered, fails with a
 *   VertxException, outcome unknown. A connection is taken out of use before its calls fail, so a
 *   call made from a failure's callback opens another.
 */
final class PipelinedNodeTransport implements NodeTransport {

    private static final Logger LOG = Logger.getLogger(PipelinedNodeTransport.class);

    /** Headroom over the largest value for a node's answer (JSON envelope, problem bodies). */
    private static final int ANSWER_ENVELOPE_BYTES = 64 * 1024;

    private static final int IDLE_SECONDS = 60;

    private final VertxInternal vertx;
    private final Supplier<String> authorization;
    private final int depth;
    private final int maxConnections;
    private final int maxAnswerBytes;
    private final int connectTimeoutMillis;
    private final ThreadLocal<Loop> loops = new ThreadLocal<>();
    /** The event loop calls made off every event loop run on (tests, workers); created on first use. */
    private volatile @org.jspecify.annotations.Nullable ContextInternal fallback;

    /**
     * @param authorization the {@code Authorization} header of every call, as it is now
     * @param depth calls in flight on a connection before another is opened ({@code pipelining-limit})
     * @param maxConnections connections to one node per event loop ({@code connections-per-node})
     * @param maxValueBytes the largest value a node stores ({@code max-value-size})
     */
    PipelinedNodeTransport(
            Vertx vertx,
            Supplier<String> authorization,
            int depth,
            int maxConnections,
            long maxValueBytes,
            int connectTimeoutMillis) {
        this.vertx = (VertxInternal) vertx;
        this.authorization = authorization;
        this.depth = Math.max(1, depth);
        this.maxConnections = Math.max(1, maxConnections);
        this.maxAnswerBytes =
                (int) Math.min(Integer.MAX_VALUE - ANSWER_ENVELOPE_BYTES, maxValueBytes) + ANSWER_ENVELOPE_BYTES;
        this.connectTimeoutMillis = connectTimeoutMillis;
    }

    static PipelinedNodeTransport of(Vertx vertx, RouterConfig config, Credentials credentials) {
        return new PipelinedNodeTransport(
                vertx,
                credentials::clusterAuthorization,
                config.pipeliningLimit(),
                config.connectionsPerNode(),
                config.maxValueSize().asLongValue(),
                (int) config.forwardTimeout().toMillis());
    }

    @Override
    public Future<NodeAnswer> exchange(NodeCall call) {
        Context current = Vertx.currentContext();
        if (current instanceof ContextInternal context && context.isEventLoopContext() && context.inThread()) {
            return loop(context).send(call);
        }
        // Not on an event loop (the data path always is; a test or a worker may not be): run it
        // on one and hand the answer back on the caller's context.
        ContextInternal caller = vertx.getOrCreateContext();
        Promise<NodeAnswer> answer = caller.promise();
        ContextInternal onLoop = fallback;
        if (onLoop == null) {
            onLoop = vertx.createEventLoopContext();
            fallback = onLoop;
        }
        ContextInternal chosen = onLoop;
        chosen.runOnContext(ignored -> loop(chosen).send(call).onComplete(answer));
        return answer.future();
    }

    /** This event-loop thread's connections (a thread runs one Netty event loop). */
    private Loop loop(ContextInternal context) {
        Loop loop = loops.get();
        if (loop == null) {
            loop = new Loop(context.nettyEventLoop());
            loops.set(loop);
        }
        return loop;
    }

    /** One event-loop thread's connections to every node, and the connections written to this turn. */
    private final class Loop {

        final EventLoop eventLoop;
        final Map<String, NodeConnections> nodes = new HashMap<>();
        final ArrayDeque<Connection> unflushed = new ArrayDeque<>();
        boolean flushScheduled;

        Loop(EventLoop eventLoop) {
            this.eventLoop = eventLoop;
        }

        Future<NodeAnswer> send(NodeCall call) {
            NodeConnections node = nodes.computeIfAbsent(call.node(), address -> new NodeConnections(this, address));
            Promise<NodeAnswer> promise = ((ContextInternal) Vertx.currentContext()).promise();
            node.pick().send(new Pending(promise, call, request(call)));
            return promise.future();
        }

        void written(Connection connection) {
            if (!connection.unflushed) {
                connection.unflushed = true;
                unflushed.add(connection);
            }
            if (!flushScheduled) {
                flushScheduled = true;
                eventLoop.execute(this::flush);
            }
        }

        private void flush() {
            flushScheduled = false;
            Connection connection;
            while ((connection = unflushed.poll()) != null) {
                connection.unflushed = false;
                connection.channel.flush();
            }
        }
    }

    private FullHttpRequest request(NodeCall call) {
        ByteBuf content = call.body() == null
                ? Unpooled.EMPTY_BUFFER
                : Unpooled.unreleasableBuffer(call.body().getByteBuf());
        FullHttpRequest request =
                new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, call.method().toNetty(), call.uri(), content);
        HttpHeaders headers = request.headers();
        headers.set(HttpHeaderNames.HOST, call.node());
        headers.set(HttpHeaderNames.AUTHORIZATION, authorization.get());
        headers.set(Fencing.EPOCH, Long.toString(call.epoch()));
        if (call.requestId() != null) {
            headers.set(RequestIds.HEADER, call.requestId());
        }
        if (call.contentType() != null) {
            headers.set(HttpHeaderNames.CONTENT_TYPE, call.contentType());
        }
        headers.setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        return request;
    }

    /** The connections of one event loop to one node. */
    private final class NodeConnections {

        final Loop loop;
        final String node;
        final NodeAddress address;
        final List<Connection> open = new ArrayList<>();

        NodeConnections(Loop loop, String node) {
            this.loop = loop;
            this.node = node;
            this.address = NodeAddress.parse(node);
        }

        /** The open connection with the fewest calls in flight, or a new one when each has {@code depth}. */
        Connection pick() {
            Connection best = null;
            for (Connection connection : open) {
                if (best == null || connection.inFlight.size() < best.inFlight.size()) {
                    best = connection;
                }
            }
            if (best == null || (best.inFlight.size() >= depth && open.size() < maxConnections)) {
                best = connect();
            }
            return best;
        }

        private Connection connect() {
            Connection connection = new Connection(this);
            open.add(connection);
            ChannelFuture connecting = new Bootstrap()
                    .group(loop.eventLoop)
                    .channelFactory(vertx.transport().channelFactory(false))
                    .resolver(vertx.nettyAddressResolverGroup())
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis)
                    .handler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel channel) {
                            channel.pipeline()
                                    .addLast(new IdleStateHandler(0, 0, IDLE_SECONDS, TimeUnit.SECONDS))
                                    .addLast(new HttpClientCodec())
                                    .addLast(new HttpObjectAggregator(maxAnswerBytes))
                                    .addLast(connection);
                        }
                    })
                    .connect(address.host(), address.port());
            connection.channel = connecting.channel();
            // On this event loop, after the call that opened the connection is queued on it (a
            // failed channel creation completes on another thread, or before connect returns).
            connecting.addListener(done -> loop.eventLoop.execute(() -> connection.connected(done.cause())));
            return connection;
        }
    }

    /** A call sent (or about to be) and not yet answered, failed or timed out. */
    private static final class Pending {

        final Promise<NodeAnswer> promise;
        final NodeCall call;
        final FullHttpRequest request;
        ScheduledFuture<?> timer;
        /** When its request was written (nanoTime); 0 while the connection is being opened. */
        long sentNanos;

        boolean over;

        Pending(Promise<NodeAnswer> promise, NodeCall call, FullHttpRequest request) {
            this.promise = promise;
            this.call = call;
            this.request = request;
        }

        void answer(NodeAnswer answer) {
            if (!over) {
                over = true;
                timer.cancel(false);
                promise.complete(answer);
            }
        }

        void fail(Throwable cause) {
            if (!over) {
                over = true;
                if (timer != null) {
                    timer.cancel(false);
                }
                promise.fail(cause);
            }
        }
    }

    /** One keep-alive connection to a node and the calls waiting on it, oldest first. */
    private final class Connection extends SimpleChannelInboundHandler<FullHttpResponse> {

        final NodeConnections node;
        /** Calls written and not answered, then (while connecting) calls not written yet, oldest first. */
        final ArrayDeque<Pending> inFlight = new ArrayDeque<>();

        Channel channel;
        /** Until the connection is up (or failed): calls wait in {@link #inFlight}, unwritten. */
        boolean connecting = true;

        boolean unflushed;
        boolean closed;
        /** Why it closed, once it has: what a call made on it after that fails with. */
        @org.jspecify.annotations.Nullable
        Throwable closeCause;
        /** When this connection last answered (nanoTime); 0 before its first answer. */
        long answeredNanos;
        /** The stall check in waiting (see the class comment), if any. */
        @org.jspecify.annotations.Nullable
        ScheduledFuture<?> stallCheck;

        Connection(NodeConnections node) {
            this.node = node;
        }

        void send(Pending pending) {
            if (closed) {
                pending.fail(closeCause);
                return;
            }
            inFlight.add(pending);
            pending.timer = node.loop.eventLoop.schedule(
                    () -> timedOut(pending), pending.call.timeoutMillis(), TimeUnit.MILLISECONDS);
            if (!connecting) {
                pending.sentNanos = System.nanoTime();
                channel.write(pending.request, channel.voidPromise());
                node.loop.written(this);
            }
        }

        void connected(Throwable failure) {
            connecting = false;
            if (failure != null) {
                // Nothing was written: each call provably took nothing (routing may retry a write).
                closed(failure);
                return;
            }
            long now = System.nanoTime();
            for (Pending pending : inFlight) {
                pending.sentNanos = now;
                channel.write(pending.request, channel.voidPromise());
            }
            channel.flush();
        }

        private void timedOut(Pending pending) {
            if (pending.over) {
                return;
            }
            if (connecting) {
                // Never written: it leaves the queue, provably not applied.
                inFlight.remove(pending);
                pending.fail(new java.net.ConnectException("no connection to " + node.node + " within "
                        + pending.call.timeoutMillis() + " ms to send " + pending.call.method() + " "
                        + pending.call.uri()));
                return;
            }
            pending.fail(new TimeoutException("no answer from " + node.node + " within " + pending.call.timeoutMillis()
                    + " ms to " + pending.call.method() + " " + pending.call.uri()));
            checkStall();
        }

        /**
         * Closes the connection if it is stalled (see the class comment), or checks again when it
         * would be: while calls wait on it, once one has timed out.
         */
        private void checkStall() {
            if (closed || connecting || stallCheck != null) {
                return;
            }
            Pending oldest = inFlight.peek();
            if (oldest == null) {
                return;
            }
            long since = answeredNanos != 0 && answeredNanos - oldest.sentNanos > 0 ? answeredNanos : oldest.sentNanos;
            long silentNanos = System.nanoTime() - since;
            long longestMillis = 0;
            for (Pending waiting : inFlight) {
                longestMillis = Math.max(longestMillis, waiting.call.timeoutMillis());
            }
            long allowedNanos = TimeUnit.MILLISECONDS.toNanos(2 * longestMillis);
            if (silentNanos >= allowedNanos) {
                close("no answer from " + node.node + " for " + silentNanos / 1_000_000 + " ms, calls of up to "
                        + longestMillis + " ms waiting");
                return;
            }
            stallCheck = node.loop.eventLoop.schedule(
                    () -> {
                        stallCheck = null;
                        checkStall();
                    },
                    allowedNanos - silentNanos,
                    TimeUnit.NANOSECONDS);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext context, FullHttpResponse response) {
            Pending pending = inFlight.poll();
            answeredNanos = System.nanoTime();
            if (pending == null) {
                LOG.warnf("%s answered a call the router did not make: closing the connection", node.node);
                close(node.node + " answered out of turn");
                return;
            }
            if (!response.decoderResult().isSuccess()) {
                pending.fail(new VertxException(
                        "unreadable answer from " + node.node,
                        response.decoderResult().cause()));
                close("unreadable answer from " + node.node);
                return;
            }
            pending.answer(new NodeAnswer(
                    response.status().code(),
                    new HeadersAdaptor(response.headers()),
                    Buffer.buffer(ByteBufUtil.getBytes(response.content()))));
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext context, Object event) {
            if (event instanceof IdleStateEvent && inFlight.isEmpty()) {
                close("idle for " + IDLE_SECONDS + " s");
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext context, Throwable cause) {
            LOG.debugf(cause, "connection to %s failed", node.node);
            close("connection to " + node.node + " failed: " + cause.getMessage());
        }

        /**
         * Takes the connection out of use at once (calls made from now on open another) and
         * closes it; the calls waiting on it fail, outcome unknown.
         */
        private void close(String why) {
            closed(new VertxException(why, true));
            channel.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext context) {
            closed(new VertxException("connection to " + node.node + " closed", true));
        }

        private void closed(Throwable cause) {
            if (closed) {
                return;
            }
            closed = true;
            closeCause = cause;
            node.open.remove(this);
            if (node.loop.unflushed.remove(this)) {
                unflushed = false;
            }
            if (stallCheck != null) {
                stallCheck.cancel(false);
                stallCheck = null;
            }
            Pending pending;
            while ((pending = inFlight.poll()) != null) {
                pending.fail(cause);
            }
        }
    }
}
