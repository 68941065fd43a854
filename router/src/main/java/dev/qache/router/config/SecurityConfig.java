package dev.qache.router.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/** {@code qache.security.*}: how token files are watched. */
@ConfigMapping(prefix = "qache.security")
public interface SecurityConfig {

    /** How often a {@code *-file} token setting is read again; a rotation step takes effect within it. */
    @WithDefault("1s")
    Duration reloadInterval();
}
