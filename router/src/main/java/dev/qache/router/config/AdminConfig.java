package dev.qache.router.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/** {@code qache.admin.token}: the bearer token every {@code /admin} call must carry. */
@ConfigMapping(prefix = "qache.admin")
public interface AdminConfig {

    /** Required: the router refuses to start without one. */
    String token();

    /**
     * Whether adding a shard or a replica first asks each new node for its status and refuses
     * (422) one that does not answer. On by default; tests with stand-in addresses switch it off.
     */
    @WithName("check-new-nodes")
    @WithDefault("true")
    boolean checkNewNodes();
}
