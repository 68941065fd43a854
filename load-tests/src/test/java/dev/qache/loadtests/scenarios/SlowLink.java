package dev.qache.loadtests.scenarios;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A TCP proxy on loopback in front of one process, whose delay can be changed while it runs: a
 * slow link, in both directions (there is no {@code tc netem} here). Bytes keep their order: each
 * direction of a connection has one scheduler thread, which writes every chunk the delay after it
 * was read, and never before the chunk ahead of it.
 */
final class SlowLink implements AutoCloseable {

    private final ServerSocket server;
    private final String targetHost;
    private final int targetPort;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final List<ScheduledExecutorService> schedulers = new CopyOnWriteArrayList<>();
    private volatile long delayMillis;
    private volatile boolean closed;

    SlowLink(String targetHost, int targetPort) throws IOException {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        this.server = new ServerSocket();
        server.bind(new InetSocketAddress("127.0.0.1", 0));
        Thread.ofPlatform().daemon().name("slow-link-accept").start(this::accept);
    }

    int port() {
        return server.getLocalPort();
    }

    int targetPort() {
        return targetPort;
    }

    /** From now on every chunk, each way, is delivered this much later. */
    void delay(long millis) {
        this.delayMillis = millis;
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = server.accept();
                Socket target = new Socket(targetHost, targetPort);
                client.setTcpNoDelay(true);
                target.setTcpNoDelay(true);
                sockets.add(client);
                sockets.add(target);
                pipe(client, target);
                pipe(target, client);
            } catch (IOException e) {
                if (!closed) {
                    continue; // the target refused (it is down): the client's connection just ends
                }
            }
        }
    }

    private void pipe(Socket from, Socket to) {
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("slow-link-write").factory());
        schedulers.add(scheduler);
        Thread.ofPlatform().daemon().name("slow-link-read").start(() -> {
            byte[] buffer = new byte[64 * 1024];
            long[] lastDue = {0};
            try (InputStream in = from.getInputStream()) {
                OutputStream out = to.getOutputStream();
                int read;
                while ((read = in.read(buffer)) >= 0) {
                    byte[] chunk = java.util.Arrays.copyOf(buffer, read);
                    // Never before the chunk ahead of it, even when the delay just went down.
                    long now = System.nanoTime();
                    long due = Math.max(now + delayMillis * 1_000_000L, lastDue[0]);
                    lastDue[0] = due;
                    scheduler.schedule(
                            () -> {
                                try {
                                    out.write(chunk);
                                    out.flush();
                                } catch (IOException e) {
                                    closeQuietly(to);
                                }
                            },
                            due - now,
                            TimeUnit.NANOSECONDS);
                }
            } catch (IOException e) {
                // the connection ended
            }
            // After every chunk already scheduled (the scheduler runs them in due order).
            long now = System.nanoTime();
            scheduler.schedule(
                    () -> closeQuietly(to),
                    Math.max(now + delayMillis * 1_000_000L, lastDue[0]) - now + 1_000_000L,
                    TimeUnit.NANOSECONDS);
        });
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        sockets.forEach(SlowLink::closeQuietly);
        schedulers.forEach(ScheduledExecutorService::shutdownNow);
    }
}
