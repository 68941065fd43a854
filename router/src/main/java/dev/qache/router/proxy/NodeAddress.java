package dev.qache.router.proxy;

/** A node's {@code host:port}, parsed once. */
record NodeAddress(String host, int port) {

    static NodeAddress parse(String node) {
        int colon = node.lastIndexOf(':');
        return new NodeAddress(node.substring(0, colon), Integer.parseInt(node.substring(colon + 1)));
    }
}
