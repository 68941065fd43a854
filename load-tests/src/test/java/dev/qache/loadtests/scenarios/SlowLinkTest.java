package dev.qache.loadtests.scenarios;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The slow link keeps every byte in order, also across a change of its delay. */
class SlowLinkTest {

    private static final int MESSAGES = 4_000;

    @Test
    @Timeout(60)
    void bytesArriveInTheOrderSent_whileTheDelayGoesUpAndDown() throws Exception {
        try (ServerSocket sink = new ServerSocket()) {
            sink.bind(new InetSocketAddress("127.0.0.1", 0));
            CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> {
                try (Socket accepted = sink.accept();
                        InputStream in = accepted.getInputStream()) {
                    ByteArrayOutputStream all = new ByteArrayOutputStream();
                    in.transferTo(all);
                    return all.toByteArray();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try (SlowLink link = new SlowLink("127.0.0.1", sink.getLocalPort());
                    Socket client = new Socket("127.0.0.1", link.port())) {
                client.setTcpNoDelay(true);
                OutputStream out = client.getOutputStream();
                for (int i = 0; i < MESSAGES; i++) {
                    // The delay drops while chunks are queued behind a long one, and rises again:
                    // the chunks queued then are all due at the same instant.
                    if (i % 500 == 0) {
                        link.delay(20);
                    } else if (i % 500 == 250) {
                        link.delay(0);
                    }
                    out.write(ByteBuffer.allocate(4).putInt(i).array());
                    out.flush();
                }
                client.shutdownOutput();
                byte[] bytes = received.get(30, TimeUnit.SECONDS);
                assertThat(bytes).hasSize(4 * MESSAGES);
                ByteBuffer in = ByteBuffer.wrap(bytes);
                for (int i = 0; i < MESSAGES; i++) {
                    assertThat(in.getInt()).as("message %d", i).isEqualTo(i);
                }
            }
        }
    }
}
