package dev.qache.loadtests.scenarios;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A TCP proxy on loopback in front of one process, whose delay can be changed while it runs: a
 * slow link, in both directions (there is no {@code tc netem} here). Bytes keep their order: each
 * direction of a connection has one queue and one writer thread, which writes every chunk the
 * delay after it was read, and never before the chunk ahead of it.
 */
final class SlowLink implements AutoCloseable {

    private final ServerSocket server;
    private final String targetHost;
    private final int targetPort;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final List<Thread> writers = new CopyOnWriteArrayList<>();
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

    /** A chunk read from one side, to be written to the other at {@code dueNanos}; null bytes: the end. */
    private record Chunk(long dueNanos, byte[] bytes) {}

    private void pipe(Socket from, Socket to) {
        // One FIFO per direction, drained by one writer: chunks leave in the order they were read.
        // (A ScheduledExecutorService does not keep that order: it fires each task at the time
        // schedule() was called plus the delay, so two chunks due at the same instant swap when
        // the first one's call ran later; that swapped whole HTTP answers on a pipelined
        // connection once the delay went down.)
        LinkedBlockingQueue<Chunk> queue = new LinkedBlockingQueue<>();
        Thread writer = Thread.ofPlatform().daemon().name("slow-link-write").start(() -> {
            try (OutputStream out = to.getOutputStream()) {
                while (true) {
                    Chunk chunk = queue.take();
                    long wait = chunk.dueNanos() - System.nanoTime();
                    if (wait > 0) {
                        Thread.sleep(Duration.ofNanos(wait)); // the link's delay itself
                    }
                    if (chunk.bytes() == null) {
                        return;
                    }
                    out.write(chunk.bytes());
                    out.flush();
                }
            } catch (IOException e) {
                closeQuietly(from);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                closeQuietly(to);
            }
        });
        writers.add(writer);
        Thread.ofPlatform().daemon().name("slow-link-read").start(() -> {
            byte[] buffer = new byte[64 * 1024];
            long lastDue = 0;
            try (InputStream in = from.getInputStream()) {
                int read;
                while ((read = in.read(buffer)) >= 0) {
                    // Never before the chunk ahead of it, even when the delay just went down.
                    lastDue = Math.max(System.nanoTime() + delayMillis * 1_000_000L, lastDue);
                    queue.add(new Chunk(lastDue, Arrays.copyOf(buffer, read)));
                }
            } catch (IOException e) {
                // the connection ended
            }
            // After every chunk already queued.
            queue.add(new Chunk(Math.max(System.nanoTime() + delayMillis * 1_000_000L, lastDue), null));
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
        writers.forEach(Thread::interrupt);
    }
}
