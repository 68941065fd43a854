package dev.qache.router.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.qache.protocol.Fencing;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxException;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The pipelined transport against a scripted node: a TCP server that reads HTTP/1.1 requests and
 * answers them as each test says, on Netty's JDK transport and on native epoll.
 */
class PipelinedNodeTransportTest {

    private static final String AUTHORIZATION = "Bearer cluster-token";

    private Vertx vertx;
    /** The scripted node's own Vert.x, so it reads on threads of its own. */
    private Vertx nodeVertx;

    private Context loop;
    private ScriptedNode node;

    @AfterEach
    void close() throws Exception {
        for (Vertx each : new Vertx[] {vertx, nodeVertx}) {
            if (each != null) {
                each.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            }
        }
    }

    @ParameterizedTest(name = "native transport {0}")
    @ValueSource(booleans = {false, true})
    void callsMadeInOneTurnLeaveInOneWrite_andEachGetsItsOwnAnswer(boolean nativeTransport) throws Exception {
        PipelinedNodeTransport transport = start(nativeTransport, 16, 4, (request, answers) -> answers.ok(request.uri));
        assertThat(body(await(send(transport, get("/warm-up", 2000))))).isEqualTo("/warm-up");
        int before = node.reads.size();

        // The turn works 2 ms between calls, time enough for a write flushed at once to reach the
        // node and be read on its own.
        List<Future<NodeAnswer>> calls = onEventLoop(() -> IntStream.range(0, 8)
                .mapToObj(i -> {
                    busyFor(2);
                    return send(transport, get("/k" + i, 2000));
                })
                .toList());

        for (int i = 0; i < 8; i++) {
            assertThat(body(await(calls.get(i)))).isEqualTo("/k" + i);
        }
        assertThat(node.connections).as("one connection, kept alive").hasSize(1);
        assertThat(node.reads.get(before))
                .as("the node's first read after the warm-up held all eight requests")
                .isEqualTo(8);
    }

    @ParameterizedTest(name = "native transport {0}")
    @ValueSource(booleans = {false, true})
    void aTimedOutCallKeepsItsPlace_andItsLateAnswerIsDropped(boolean nativeTransport) throws Exception {
        PipelinedNodeTransport transport = start(nativeTransport, 16, 4, (request, answers) -> {
            if (request.uri.equals("/fast")) {
                answers.ok("slow"); // the answer to /slow, late, then /fast's own
                answers.ok("fast");
            } else if (!request.uri.equals("/slow")) {
                answers.ok(request.uri);
            }
        });

        Throwable timedOut = failure(send(transport, get("/slow", 100)));
        NodeAnswer next = await(send(transport, get("/fast", 2000)));

        assertThat(timedOut).isInstanceOf(TimeoutException.class).hasMessageContaining("/slow");
        assertThat(body(next))
                .as("the next call gets its own answer, not the late one")
                .isEqualTo("fast");
        assertThat(node.connections).as("the connection outlived the timeout").hasSize(1);
    }

    @ParameterizedTest(name = "native transport {0}")
    @ValueSource(booleans = {false, true})
    void aCallThatWasNeverSentFailsWithConnectException(boolean nativeTransport) throws Exception {
        PipelinedNodeTransport transport = start(nativeTransport, 16, 4, (request, answers) -> answers.ok("x"));
        int closedPort = node.server.actualPort();
        await(node.server.close());

        Throwable failure = failure(send(
                transport,
                new NodeCall(
                        "127.0.0.1:" + closedPort,
                        HttpMethod.POST,
                        "/k",
                        "application/json",
                        Buffer.buffer("1"),
                        2000,
                        1,
                        true,
                        null)));

        assertThat(failure)
                .as("routing may retry a write that provably took nothing")
                .isInstanceOf(ConnectException.class);
    }

    @ParameterizedTest(name = "native transport {0}")
    @ValueSource(booleans = {false, true})
    void aConnectionThatFailsAtOnce_failsItsCallAtOnce(boolean nativeTransport) throws Exception {
        PipelinedNodeTransport transport = start(nativeTransport, 16, 4, (request, answers) -> answers.ok("x"));
        NodeCall call = new NodeCall("127.0.0.1:0", HttpMethod.GET, "/k", null, null, 5000, 1, true, null);

        long sent = System.nanoTime();
        Throwable failure = failure(send(transport, call));

        assertThat(failure).isInstanceOf(ConnectException.class);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent))
                .as("failed with the connection, not at its timeout")
                .isLessThan(4000);
    }

    @ParameterizedTest(name = "native transport {0}")
    @ValueSource(booleans = {false, true})
    void aCallLostWithItsConnectionFailsAsUnknown_andTheNextOpensAnother(boolean nativeTransport) throws Exception {
        PipelinedNodeTransport transport = start(nativeTransport, 16, 4, (request, answers) -> {
            if (request.uri.equals("/drop")) {
                answers.socket.close();
            } else {
                answers.ok(request.uri);
            }
        });

        Throwable lost = failure(send(transport, post("/drop", "1")));
        NodeAnswer next = await(send(transport, get("/k", 2000)));

        assertThat(lost)
                .as("written, so it may have been applied")
                .isInstanceOf(VertxException.class)
                .isNotInstanceOf(ConnectException.class);
        assertThat(body(next)).isEqualTo("/k");
        assertThat(node.connections).hasSize(2);
    }

    @ParameterizedTest(name = "native transport {0}")
    @ValueSource(booleans = {false, true})
    void aConnectionSilentForTwiceTheLongestTimeoutOfItsCallsIsClosed(boolean nativeTransport) throws Exception {
        PipelinedNodeTransport transport = start(nativeTransport, 16, 4, (request, answers) -> {
            if (!request.uri.startsWith("/hang")) {
                answers.ok(request.uri);
            }
        });

        // A call of 60 ms, unanswered, then one of 300 ms behind it on the same connection: the
        // second is not lost when the first has waited 120 ms, it runs out on its own; once the
        // first has waited 600 ms (twice the longest) the connection is stalled and replaced.
        long sent = System.nanoTime();
        Future<NodeAnswer> first = send(transport, get("/hang0", 60));
        assertThat(failure(first)).isInstanceOf(TimeoutException.class);
        Throwable second = failure(send(transport, get("/hang1", 300)));

        assertThat(second).as("it ran out on its own, not with the connection").isInstanceOf(TimeoutException.class);
        Awaitility.await()
                .atMost(Duration.ofSeconds(5))
                .untilAsserted(
                        () -> assertThat(node.closed).as("closed by the router").containsExactly(0));
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent))
                .as("not before twice the longest timeout")
                .isGreaterThanOrEqualTo(600);
        NodeAnswer next = await(send(transport, get("/k", 2000)));
        assertThat(body(next)).isEqualTo("/k");
        assertThat(node.connections).as("the silent connection was replaced").hasSize(2);
        assertThat(node.requestsOn(0)).containsExactly("/hang0", "/hang1");
    }

    @ParameterizedTest(name = "native transport {0}")
    @ValueSource(booleans = {false, true})
    void aCallSentAgainBehindItsTimedOutHedge_isAnsweredByASlowNode(boolean nativeTransport) throws Exception {
        // The node answers every call 400 ms after it came, in order.
        PipelinedNodeTransport transport = start(
                nativeTransport, 16, 4, (request, answers) -> nodeVertx.setTimer(400, id -> answers.ok(request.uri)));

        // A hedged GET of 100 ms runs out; the same GET goes to the same node again with 1 s, as
        // the read path does when the replica it hedged to is in a full sync. The second call
        // waits behind the first on the connection and must get its answer: the node is slow,
        // not gone.
        Promise<Future<NodeAnswer>> again = Promise.promise();
        onEventLoop(() -> send(transport, get("/hedged", 100))
                .onFailure(timedOut -> again.complete(send(transport, get("/again", 1000)))));

        assertThat(body(await(await(again.future())))).isEqualTo("/again");
        assertThat(node.connections).as("one connection, kept").hasSize(1);
        assertThat(node.closed).isEmpty();
    }

    @ParameterizedTest(name = "native transport {0}")
    @ValueSource(booleans = {false, true})
    void aHedgedCallTimingOutBehindASlowOne_leavesItsConnectionOpen_andACallFromItsCallbackIsAnswered(
            boolean nativeTransport) throws Exception {
        // The node answers in order: /slow after 400 ms, then /hedge (late, dropped), then any
        // call that came meanwhile.
        List<Runnable> deferred = new ArrayList<>();
        boolean[] slowAnswered = {false};
        PipelinedNodeTransport transport = start(nativeTransport, 16, 4, (request, answers) -> {
            synchronized (deferred) {
                switch (request.uri) {
                    case "/slow" ->
                        nodeVertx.setTimer(400, id -> {
                            synchronized (deferred) {
                                answers.ok("slow");
                                answers.ok("hedge");
                                slowAnswered[0] = true;
                                deferred.forEach(Runnable::run);
                            }
                        });
                    case "/hedge" -> {}
                    default -> {
                        if (slowAnswered[0]) {
                            answers.ok(request.uri);
                        } else {
                            deferred.add(() -> answers.ok(request.uri));
                        }
                    }
                }
            }
        });

        // The slow write waits 2 s at most; 150 ms later a hedged read of 60 ms goes behind it, and
        // the read's failure callback makes the next call, as routing's retry does.
        Promise<Future<NodeAnswer>> retried = Promise.promise();
        Future<NodeAnswer> slow = onEventLoop(() -> {
            Future<NodeAnswer> call = send(transport, post("/slow", "1"));
            vertx.setTimer(
                    150,
                    id -> send(transport, get("/hedge", 60))
                            .onFailure(timedOut -> retried.complete(send(transport, get("/retry", 2000)))));
            return call;
        });

        assertThat(body(await(slow)))
                .as("the hedged call's timeout left the slow call's connection open")
                .isEqualTo("slow");
        assertThat(body(await(await(retried.future()))))
                .as("the call made from the timed-out call's callback")
                .isEqualTo("/retry");
        assertThat(node.connections).hasSize(1);
    }

    @ParameterizedTest(name = "native transport {0}")
    @ValueSource(booleans = {false, true})
    void aConnectionWhoseCallsAllTimedOutIsClosed_withoutAnotherCall(boolean nativeTransport) throws Exception {
        PipelinedNodeTransport transport = start(nativeTransport, 16, 4, (request, answers) -> {});

        assertThat(failure(send(transport, get("/hang", 60)))).isInstanceOf(TimeoutException.class);

        Awaitility.await()
                .atMost(Duration.ofSeconds(5))
                .untilAsserted(
                        () -> assertThat(node.closed).as("closed by the router").containsExactly(0));
    }

    @ParameterizedTest(name = "native transport {0}")
    @ValueSource(booleans = {false, true})
    void aNewConnectionOpensOnlyWhenEveryOpenOneHasTheDepthInFlight(boolean nativeTransport) throws Exception {
        List<Runnable> held = new CopyOnWriteArrayList<>();
        PipelinedNodeTransport transport =
                start(nativeTransport, 2, 3, (request, answers) -> held.add(() -> answers.ok(request.uri)));

        List<Future<NodeAnswer>> calls = onEventLoop(() -> IntStream.range(0, 7)
                .mapToObj(i -> send(transport, get("/k" + i, 5000)))
                .toList());
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> held.size() == 7);
        nodeVertx.runOnContext(ignored -> held.forEach(Runnable::run));

        for (int i = 0; i < 7; i++) {
            assertThat(body(await(calls.get(i)))).isEqualTo("/k" + i);
        }
        assertThat(node.connections).as("depth 2, at most 3 connections").hasSize(3);
        assertThat(List.of(node.requestsOn(0), node.requestsOn(1), node.requestsOn(2)))
                .as("the least busy connection first, the first one again once all three have two")
                .containsExactlyInAnyOrder(List.of("/k0", "/k1", "/k6"), List.of("/k2", "/k3"), List.of("/k4", "/k5"));
    }

    @ParameterizedTest(name = "native transport {0}")
    @ValueSource(booleans = {false, true})
    void aWriteCarriesItsBody_theTokenTheEpochAndTheRequestId_andItsBodyCanBeSentAgain(boolean nativeTransport)
            throws Exception {
        PipelinedNodeTransport transport = start(
                nativeTransport,
                16,
                4,
                (request, answers) -> answers.write("HTTP/1.1 201 Created\r\ncontent-type: application/json\r\nx-seen: "
                        + request.headers.get("authorization") + "|" + request.headers.get(Fencing.EPOCH.toLowerCase())
                        + "|"
                        + request.headers.get("content-type") + "|" + request.headers.get("x-request-id")
                        + "\r\ncontent-length: " + request.body.length()
                        + "\r\n\r\n" + request.body));
        NodeCall call = new NodeCall(
                node.address(),
                HttpMethod.POST,
                "/k",
                "application/json",
                Buffer.buffer("{\"v\":1}"),
                2000,
                7,
                true,
                "req-1");

        NodeAnswer first = await(send(transport, call));
        NodeAnswer again = await(send(transport, call));

        for (NodeAnswer answer : List.of(first, again)) {
            assertThat(answer.status()).isEqualTo(201);
            assertThat(answer.header("X-Seen")).isEqualTo(AUTHORIZATION + "|7|application/json|req-1");
            assertThat(body(answer)).isEqualTo("{\"v\":1}");
        }
    }

    // ---- the scripted node ----

    private PipelinedNodeTransport start(
            boolean nativeTransport, int depth, int maxConnections, BiConsumer<Request, Answers> script)
            throws Exception {
        vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(nativeTransport));
        assertThat(vertx.isNativeTransportEnabled()).isEqualTo(nativeTransport);
        loop = vertx.getOrCreateContext();
        nodeVertx = Vertx.vertx();
        node = new ScriptedNode(nodeVertx, script);
        await(node.server.listen(0, "127.0.0.1"));
        return new PipelinedNodeTransport(vertx, () -> AUTHORIZATION, depth, maxConnections, 1 << 20, 2000);
    }

    private record Request(String method, String uri, Map<String, String> headers, String body) {}

    /** How a script answers on one connection. */
    private record Answers(NetSocket socket) {

        void ok(String body) {
            write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: "
                    + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body);
        }

        void write(String raw) {
            socket.write(raw);
        }
    }

    /** A TCP server that reads pipelined HTTP/1.1 requests, recording what arrived and how. */
    private static final class ScriptedNode {

        final NetServer server;
        final List<Integer> connections = new CopyOnWriteArrayList<>();
        /** Connections the other side closed. */
        final List<Integer> closed = new CopyOnWriteArrayList<>();
        /** Requests found in each read of every connection, in order. */
        final List<Integer> reads = new CopyOnWriteArrayList<>();

        final Map<Integer, List<String>> uris = new ConcurrentHashMap<>();

        ScriptedNode(Vertx vertx, BiConsumer<Request, Answers> script) {
            server = vertx.createNetServer().connectHandler(socket -> {
                int id = connections.size();
                connections.add(id);
                uris.put(id, new CopyOnWriteArrayList<>());
                Answers answers = new Answers(socket);
                socket.closeHandler(ignored -> closed.add(id));
                StringBuilder pending = new StringBuilder();
                socket.handler(bytes -> {
                    pending.append(bytes.toString(StandardCharsets.ISO_8859_1));
                    List<Request> requests = new ArrayList<>();
                    Request request;
                    while ((request = take(pending)) != null) {
                        requests.add(request);
                    }
                    reads.add(requests.size());
                    for (Request each : requests) {
                        uris.get(id).add(each.uri);
                        script.accept(each, answers);
                    }
                });
            });
        }

        String address() {
            return "127.0.0.1:" + server.actualPort();
        }

        List<String> requestsOn(int connection) {
            return uris.get(connection);
        }

        private static Request take(StringBuilder pending) {
            int end = pending.indexOf("\r\n\r\n");
            if (end < 0) {
                return null;
            }
            String[] lines = pending.substring(0, end).split("\r\n");
            Map<String, String> headers = new ConcurrentHashMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                headers.put(
                        lines[i].substring(0, colon).trim().toLowerCase(),
                        lines[i].substring(colon + 1).trim());
            }
            int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
            if (pending.length() < end + 4 + length) {
                return null;
            }
            String body = pending.substring(end + 4, end + 4 + length);
            pending.delete(0, end + 4 + length);
            String[] requestLine = lines[0].split(" ");
            return new Request(requestLine[0], requestLine[1], headers, body);
        }
    }

    // ---- helpers ----

    private NodeCall get(String uri, long timeoutMillis) {
        return new NodeCall(node.address(), HttpMethod.GET, uri, null, null, timeoutMillis, 1, true, null);
    }

    private NodeCall post(String uri, String body) {
        return new NodeCall(
                node.address(), HttpMethod.POST, uri, "application/json", Buffer.buffer(body), 2000, 1, true, null);
    }

    /** Runs {@code calls} in one turn of the test's event loop, as the data path makes them. */
    private <T> T onEventLoop(Supplier<T> calls) throws Exception {
        Promise<T> made = Promise.promise();
        loop.runOnContext(ignored -> made.complete(calls.get()));
        return await(made.future());
    }

    /** {@code call} sent from the test's event loop (on the calling thread when it is that loop). */
    private Future<NodeAnswer> send(PipelinedNodeTransport transport, NodeCall call) {
        if (Vertx.currentContext() == loop) {
            return transport.exchange(call);
        }
        Promise<NodeAnswer> answer = Promise.promise();
        loop.runOnContext(ignored -> transport.exchange(call).onComplete(answer));
        return answer.future();
    }

    private static <T> T await(Future<T> future) throws Exception {
        return future.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static Throwable failure(Future<?> future) throws Exception {
        try {
            await(future);
        } catch (ExecutionException failed) {
            return failed.getCause();
        }
        throw new AssertionError("the call was answered");
    }

    private static void busyFor(long millis) {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < until) {
            Thread.onSpinWait();
        }
    }

    private static String body(NodeAnswer answer) {
        return answer.body().toString(StandardCharsets.UTF_8);
    }
}
