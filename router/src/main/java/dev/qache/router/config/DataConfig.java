package dev.qache.router.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithName;
import java.nio.file.Path;
import java.util.Optional;

/**
 * {@code qache.data.tokens}: when set (or {@code qache.data.tokens-file}), every data call to the
 * router needs {@code Authorization: Bearer} with one of them; unset, the data API is open.
 */
@ConfigMapping(prefix = "qache.data")
public interface DataConfig {

    Optional<String> tokens();

    @WithName("tokens-file")
    Optional<Path> tokensFile();
}
