package dev.qache.admin.web;

import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.Map;

/** A stand-in for the router's admin API (WireMock on a free loopback port); tests stub each call. */
public class StubRouter implements QuarkusTestResourceLifecycleManager {

    static final String TOKEN = "console-test-token";
    static WireMockServer server;

    @Override
    public Map<String, String> start() {
        server = new WireMockServer(options().dynamicPort().bindAddress("127.0.0.1"));
        server.start();
        // Every test here signs in from 127.0.0.1: the rate limit has its own test.
        // The first router listed is down: every call the tests make also checks that the
        // console moves on to the next router when one cannot be reached.
        int down;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
            down = socket.getLocalPort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return Map.of(
                "qache.router.url",
                "http://127.0.0.1:" + down + "," + server.baseUrl(),
                "qache.admin.token",
                TOKEN,
                "qache.admin-ui.signin-burst",
                "10000");
    }

    @Override
    public void stop() {
        if (server != null) {
            server.stop();
        }
    }
}
