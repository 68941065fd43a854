package dev.qache.router.config;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** The router's configuration, under {@code qache.router}. */
@ConfigMapping(prefix = "qache.router")
public interface RouterConfig {

    /**
     * A readable copy of the cluster map, rewritten with each map this router serves; read only to
     * seed a group whose Raft state is empty (a router upgraded from keeping the map in this file, or
     * a lone router that lost its data directory), where the newest of it, the nodes' maps and the
     * configured shards wins.
     */
    @WithDefault("data/cluster-map.json")
    String mapFile();

    /** Where this router keeps its Raft log and snapshots ({@code raft/} inside); created on first start. */
    @WithDefault("data/router")
    String dataDir();

    /** This router's id among {@code qache.router.peers}. */
    @WithDefault("r1")
    String id();

    /**
     * The routers' Raft group, each {@code id=host:port} (the port of its Raft server, not its HTTP
     * port), 1, 3 or 5 of them, the same list on every router. Absent: this router alone, its Raft
     * server on {@code 127.0.0.1:<raft-port>}.
     */
    Optional<List<String>> peers();

    /**
     * Each router's HTTP base URL, {@code id=url} for the members of {@code qache.router.peers}
     * (e.g. {@code r2=http://10.0.0.2:7000}): a follower carries admin writes to the leader's.
     * Absent, or without the leader's: a follower answers admin writes with 503 {@code not-leader}.
     */
    Optional<List<String>> peerUrls();

    /** This router's Raft port when {@code qache.router.peers} is absent. */
    @WithDefault("7900")
    int raftPort();

    /** The routers' Raft group timing. */
    Raft raft();

    /**
     * Shards to bootstrap a new cluster with, used only when no map exists anywhere yet: each
     * {@code id=primary[;replica...]}, e.g. {@code s1=10.0.0.1:7001;10.0.0.2:7001}.
     */
    Optional<List<String>> shards();

    /** Longest a forwarded call may take, connect included, before the router gives up on it. */
    @WithDefault("1s")
    Duration forwardTimeout();

    /** Extra attempts for a GET whose forwarded call failed (never for writes). */
    @WithDefault("1")
    int getRetries();

    /** Largest value accepted, as on the nodes; bodies are limited to this plus the envelope. */
    @WithDefault("1M")
    MemorySize maxValueSize();

    /** Largest key accepted, in UTF-8 bytes, as on the nodes. */
    @WithDefault("250")
    int maxKeySize();

    /** Calls in the circuit breaker's window: at least half of them failing opens it. */
    @WithDefault("10")
    int circuitBreakerVolume();

    /** How long an open circuit fails fast before one trial call is let through. */
    @WithDefault("2s")
    Duration circuitBreakerDelay();

    /** Pooled keep-alive connections to each node, per event-loop thread. */
    @WithDefault("64")
    int connectionsPerNode();

    /**
     * Calls in flight on one connection to a node (HTTP/1.1 pipelining): a new connection is
     * opened only when every open one has this many; 1 sends one call at a time. The pipelined
     * transport only (TLS clusters and {@code node-transport=vertx} send one at a time).
     */
    @WithDefault("16")
    int pipeliningLimit();

    /**
     * How data calls reach nodes: {@code pipelined}, the router's own client over Netty's HTTP
     * codec (one write for every call to a node made in one event-loop turn, a timed-out call's
     * late answer read and dropped), or {@code vertx}, Vert.x' HTTP client. TLS clusters use
     * {@code vertx}.
     */
    @WithDefault("pipelined")
    NodeTransportKind nodeTransport();

    /** The transports of {@link #nodeTransport()}. */
    enum NodeTransportKind {
        PIPELINED,
        VERTX
    }

    /**
     * How long a GET waits for a shard's primary before it is tried on a replica instead, when the
     * shard has one (the primary may be frozen; a replica's answer may be slightly stale).
     */
    @WithDefault("250ms")
    Duration replicaReadAfter();

    Failover failover();

    Migration migration();

    /** Rebalancing: copying slots to the shards that take them over. */
    interface Migration {
        /** Slots copied at the same time. */
        @WithDefault("4")
        int slotsInFlight();

        /** Upper bound on the copy rate, in bytes per second, so client traffic is not starved. */
        @WithDefault("256M")
        MemorySize rate();

        /**
         * Whether the copy rate adapts to client latency (see {@code CopyRate}): it starts at
         * {@link #startRate}, grows while the router's p99 stays within the target, and halves
         * while it is above. Off: the copy runs at {@link #rate} from the start.
         */
        @WithDefault("true")
        boolean adaptive();

        /** The rate an adaptive copy starts at (slow start: the copy's code is still cold). */
        @WithDefault("4M")
        MemorySize startRate();

        /** The lowest rate an adaptive copy backs off to. */
        @WithDefault("512K")
        MemorySize minRate();

        /**
         * The client p99 an adaptive copy keeps to: this multiple of the p99 measured before the
         * migration began, and never below {@link #latencyFloor}.
         */
        @WithDefault("1.5")
        double latencyFactor();

        /** The p99 under which an adaptive copy never backs off. */
        @WithDefault("2ms")
        Duration latencyFloor();

        /** How often an adaptive copy looks at the client p99 and sets its rate. */
        @WithDefault("500ms")
        Duration rateWindow();

        /** Attempts per slot before the migration is aborted. */
        @WithDefault("5")
        int attempts();

        /** How often the migration starts the next copies. */
        @WithDefault("20ms")
        Duration tickInterval();
    }

    /** Failure detection and promotion. */
    interface Failover {
        /** How often every node is probed. */
        @WithDefault("100ms")
        Duration probeInterval();

        /** A probe not answered within this counts as failed. */
        @WithDefault("200ms")
        Duration probeTimeout();

        /** Consecutive failed probes after which a node is down (and a down primary replaced). */
        @WithDefault("3")
        int failureThreshold();

        /**
         * After the router starts, a primary it has not heard from yet is not failed over before
         * this long (every process may be slow to start; failover would then be a false alarm).
         */
        @WithDefault("10s")
        Duration startupGrace();

        /** Promote a replica automatically when a primary is down. */
        @WithDefault("true")
        boolean automatic();

        /**
         * How long a forced promotion of a live primary waits for the replica to catch up, with
         * the shard's writes paused, before it gives up and resumes them.
         */
        @WithDefault("5s")
        Duration catchUpTimeout();

        /**
         * The write lease each probe grants a primary: it takes writes only while one runs, and
         * a replica replaces it only once the last one has surely run out.
         */
        @WithDefault("600ms")
        Duration writeLease();

        /**
         * How far behind its primary's last known offset a replica may be and still be promoted
         * automatically; a replica further behind would lose more than the replication window.
         */
        @WithDefault("8M")
        MemorySize maxReplicaLag();
    }

    /** The routers' Raft group (DESIGN.md, "Control plane"). */
    interface Raft {
        /** Least time a follower waits without hearing its leader before it stands for election. */
        @WithDefault("1s")
        Duration electionTimeoutMin();

        /** Most time it waits (each wait is random in between, so two rarely stand at once). */
        @WithDefault("2s")
        Duration electionTimeoutMax();

        /** Entries between snapshots; the log before a snapshot is purged. */
        @WithDefault("1024")
        long snapshotEvery();

        /**
         * At start, how long a router waits for its group to lead or hand it a map; past it, a
         * router whose group has no leader serves the newest map it can find, uncommitted.
         */
        @WithDefault("10s")
        Duration startTimeout();

        /** How long a change to the map may wait to be committed. */
        @WithDefault("10s")
        Duration commitTimeout();
    }
}
