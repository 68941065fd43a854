package dev.qache.node.config;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** The node's configuration, under {@code qache.node}. Names are part of the contract (DESIGN.md). */
@ConfigMapping(prefix = "qache.node")
public interface NodeConfig {

    /** Largest key the contract allows, in UTF-8 bytes. */
    int CONTRACT_MAX_KEY_BYTES = 250;

    /** Accounted bytes the store may hold (keys, values and per-entry overhead). Suffixes K, M, G. */
    @WithDefault("256M")
    MemorySize memoryLimit();

    /** Largest value accepted, in bytes of its JSON text; larger writes get 413. */
    @WithDefault("1M")
    MemorySize maxValueSize();

    /** Largest key accepted, in UTF-8 bytes, at most 250; longer keys get 400. */
    @WithDefault("250")
    int maxKeySize();

    /** Independently locked parts of the store; a power of two. */
    @WithDefault("64")
    int storeSegments();

    Sweeper sweeper();

    /** Benchmark-only routes. */
    Bench bench();

    Replication replication();

    Migration migration();

    Shutdown shutdown();

    /** What a node does when it is told to stop (SIGTERM). */
    interface Shutdown {
        /**
         * Base URLs of the routers (any of them: a follower passes the call to the leader) that a
         * primary asks, when it is told to stop, to hand its shard to its best replica before it
         * exits. Unset: the node just leaves, and the router fails its shard over when it sees it
         * gone (the writes of the replication window may be lost then).
         */
        Optional<List<String>> routers();

        /**
         * How long a primary told to stop waits for its shard to be handed over before it exits
         * anyway. Keep it under what the supervisor allows between SIGTERM and SIGKILL (systemd's
         * TimeoutStopSec, ECS' stopTimeout, both 90 s and 30 s by default).
         */
        @WithDefault("10s")
        Duration handOffTimeout();
    }

    interface Migration {
        /**
         * Memory for the keys that change on this node while their slots import (a migration's
         * target remembers them so that the copy never overwrites them): taken from the heap left
         * outside the store's limit. Past it, a slot's every key counts as changed.
         */
        @WithDefault("32M")
        MemorySize touchedLimit();

        /**
         * Most bytes of one slot's entries a copy moves per request: what a source's export and a
         * target's import hold per slot in flight (one larger entry still moves whole).
         */
        @WithDefault("1M")
        MemorySize chunkSize();
    }

    interface Replication {
        /**
         * Bytes of the replication stream kept for replicas that reconnect; one that fell further
         * behind does a full sync.
         */
        @WithDefault("16M")
        MemorySize backlogSize();

        /**
         * Most bytes of stream a primary holds for one replica beyond the backlog, while a full
         * sync's snapshot is being sent; a replica that falls this far behind is disconnected.
         */
        @WithDefault("256M")
        MemorySize syncBufferSize();

        /** How often each side of a replication link proves it is alive when it has nothing to send. */
        @WithDefault("1s")
        Duration heartbeatInterval();

        /**
         * A replication link that brought nothing for this long is closed (and reconnected):
         * checked four times per heartbeat interval, so a half-open link is noticed within this
         * plus a quarter of that.
         */
        @WithDefault("4s")
        Duration idleTimeout();
    }

    interface Sweeper {
        /** How often the sweeper looks for expired entries when it found none due. */
        @WithDefault("100ms")
        Duration interval();

        /** Longest single sweep run while a backlog of expired entries remains. */
        @WithDefault("25ms")
        Duration maxRun();

        /** Pause between back-to-back runs while draining a backlog, leaving CPU to clients. */
        @WithDefault("1ms")
        Duration busyPause();
    }

    interface Bench {
        /**
         * Serves {@code GET /_bench/fixed}, a fixed 100-byte JSON body, as the baseline that
         * the HTTP benchmark compares the data API with. Off in production.
         */
        @WithName("baseline-route")
        @WithDefault("false")
        boolean baselineRoute();
    }
}
