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
        return Map.of(
                "qache.router.url",
                server.baseUrl(),
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
