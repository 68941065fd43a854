package dev.qache.router.config;

import io.smallrye.config.ConfigMapping;

/** {@code qache.admin.token}: the bearer token every {@code /admin} call must carry. */
@ConfigMapping(prefix = "qache.admin")
public interface AdminConfig {

    /** Required: the router refuses to start without one. */
    String token();
}
