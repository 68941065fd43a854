package dev.qache.edge;

import dev.qache.protocol.auth.TokenSource;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * {@code qache_security_token_reloads_total{setting}} and
 * {@code qache_security_token_reload_failures_total{setting}} for each token source: what a
 * rotation step waits on, and what an alert on a bad token file reads.
 */
public final class TokenMetrics {

    private TokenMetrics() {}

    public static void register(MeterRegistry registry, TokenSource... sources) {
        for (TokenSource source : sources) {
            FunctionCounter.builder("qache.security.token.reloads", source, TokenSource::reloads)
                    .description("Times a token file was read and gave other tokens")
                    .tag("setting", source.setting())
                    .register(registry);
            FunctionCounter.builder("qache.security.token.reload.failures", source, TokenSource::failures)
                    .description("Times a token file could not be read or held no token (the tokens stayed)")
                    .tag("setting", source.setting())
                    .register(registry);
        }
    }
}
