package dev.qache.router.proxy;

import io.vertx.core.Future;

/**
 * The one seam through which the router's data path calls nodes: a call goes out, an answer (or a
 * failure) comes back, on the event loop that sent it. In-JVM tests put a fake behind it.
 */
public interface NodeClient {

    /**
     * Sends {@code call}. The future fails when no answer came within the call's timeout, the
     * connection failed, or (a guarded call) the node's circuit is open; a node's error status is
     * an answer.
     */
    Future<NodeAnswer> send(NodeCall call);
}
