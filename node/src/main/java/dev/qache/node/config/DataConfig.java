package dev.qache.node.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithName;
import java.nio.file.Path;
import java.util.Optional;

/**
 * {@code qache.data.tokens}: when set (or {@code qache.data.tokens-file}), every data call needs
 * {@code Authorization: Bearer} with one of them, or with a cluster token (the router's forwarded
 * calls carry that); unset, the data API is open.
 */
@ConfigMapping(prefix = "qache.data")
public interface DataConfig {

    Optional<String> tokens();

    @WithName("tokens-file")
    Optional<Path> tokensFile();
}
