package dev.qache.router.proxy;

import io.vertx.core.Future;

/**
 * How a {@link NodeCall} travels to its node and its answer back, under the circuit breakers of
 * {@link GuardedNodeClient}: on the calling event loop, failing when no answer came within the
 * call's timeout or the connection failed ({@link java.net.ConnectException} only when the call
 * was never sent), a node's error status being an answer.
 */
interface NodeTransport {

    Future<NodeAnswer> exchange(NodeCall call);
}
