package dev.qache.router.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import java.nio.file.Path;
import java.util.Optional;

/**
 * {@code qache.admin.token}: the bearer tokens an admin call may carry, comma separated (any is
 * accepted), or {@code qache.admin.token-file} naming a file that holds them and is read again
 * while the router runs.
 */
@ConfigMapping(prefix = "qache.admin")
public interface AdminConfig {

    /** One of the two is required: the router refuses to start without an admin token. */
    Optional<String> token();

    @WithName("token-file")
    Optional<Path> tokenFile();

    /**
     * Whether adding a shard or a replica first asks each new node for its status and refuses
     * (422) one that does not answer. On by default; tests with stand-in addresses switch it off.
     */
    @WithName("check-new-nodes")
    @WithDefault("true")
    boolean checkNewNodes();
}
