package dev.qache.router.control;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.jboss.logging.Logger;

/**
 * This router's membership of the routers' Raft group (Apache Ratis over gRPC): its server, with
 * the Raft log and snapshots under a data directory, and an in-process client that sends proposals
 * to whichever member leads. One, three or five members; a lone member leads once its first
 * election timeout passes. Threads: Ratis' own; listeners are told on them (applied maps) or on one
 * thread of this group's (leadership changes, in order), and must not block.
 */
public final class RouterGroup implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(RouterGroup.class);

    /** Every router group has this id: members of one cluster find each other by their peers list. */
    static final RaftGroupId GROUP_ID =
            RaftGroupId.valueOf(UUID.nameUUIDFromBytes("qache-routers".getBytes(StandardCharsets.UTF_8)));

    /** One member: its id and the host and port its Raft server listens on. */
    public record Peer(String id, String host, int port) {

        /** {@code id=host:port}. */
        public static Peer parse(String spec) {
            int eq = spec.indexOf('=');
            int colon = spec.lastIndexOf(':');
            if (eq <= 0 || colon <= eq + 1 || colon == spec.length() - 1) {
                throw new IllegalArgumentException("a router peer is id=host:port, not '" + spec + "'");
            }
            int port;
            try {
                port = Integer.parseInt(spec.substring(colon + 1).trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("a router peer's port is a number, not '" + spec + "'");
            }
            return new Peer(
                    spec.substring(0, eq).trim(), spec.substring(eq + 1, colon).trim(), port);
        }

        String address() {
            return host + ":" + port;
        }
    }

    /**
     * How the group runs: its members, which of them this router is, where its log lives, the
     * election timeout range (a follower that hears no leader for a random time in it stands), and
     * how many entries are logged between snapshots (the log before a snapshot is purged).
     */
    public record Settings(
            List<Peer> peers,
            String self,
            Path dataDir,
            Duration electionMin,
            Duration electionMax,
            long snapshotEvery) {

        public Settings {
            peers = List.copyOf(peers);
            if (peers.stream().noneMatch(p -> p.id().equals(self))) {
                throw new IllegalArgumentException("this router (" + self + ") is not among the peers " + peers);
            }
            if (peers.stream().map(Peer::id).distinct().count() != peers.size()) {
                throw new IllegalArgumentException("two router peers share an id: " + peers);
            }
            if (snapshotEvery < 1) {
                throw new IllegalArgumentException("a snapshot is taken every 1 or more entries");
            }
            if (electionMax.compareTo(electionMin) < 0) {
                throw new IllegalArgumentException("the election timeout's maximum is below its minimum");
            }
        }

        Peer me() {
            return peers.stream().filter(p -> p.id().equals(self)).findFirst().orElseThrow();
        }
    }

    private final Settings settings;
    private final RaftGroup group;
    private final ControlStateMachine machine;
    private final RaftServer server;
    private final RaftClient client;
    private final RaftClient local;
    private final ExecutorService events = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("qache-raft-events").factory());

    private RouterGroup(Settings settings, Consumer<ControlState> applied, Consumer<Boolean> leadership)
            throws IOException {
        this.settings = settings;
        List<RaftPeer> peers = new ArrayList<>();
        for (Peer peer : settings.peers()) {
            peers.add(RaftPeer.newBuilder()
                    .setId(peer.id())
                    .setAddress(peer.address())
                    .build());
        }
        this.group = RaftGroup.valueOf(GROUP_ID, peers);
        this.machine = new ControlStateMachine(applied, leader -> events.execute(() -> leadership.accept(leader)));
        RaftProperties properties = properties(settings);
        Files.createDirectories(settings.dataDir());
        this.server = RaftServer.newBuilder()
                .setServerId(RaftPeerId.valueOf(settings.self()))
                .setGroup(group)
                .setProperties(properties)
                .setStateMachine(machine)
                // Reuse the log if there is one; an empty directory is formatted (one storage dir).
                .setOption(RaftStorage.StartupOption.RECOVER)
                .build();
        this.client = client(properties, null);
        this.local = client(properties, RaftPeerId.valueOf(settings.self()));
    }

    /**
     * A client of the group that tries {@code leader} first (null: whichever it learns of). The
     * leader's own proposals go to itself: a client guessing another member first would wait out
     * its request timeout on a member that is paused, not just gone.
     */
    private RaftClient client(RaftProperties properties, RaftPeerId leader) {
        RaftClient.Builder builder = RaftClient.newBuilder()
                .setProperties(properties)
                .setRaftGroup(group)
                .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(
                        20, TimeDuration.valueOf(100, TimeUnit.MILLISECONDS)));
        if (leader != null) {
            builder.setLeaderId(leader);
        }
        return builder.build();
    }

    private static RaftProperties properties(Settings settings) {
        RaftProperties p = new RaftProperties();
        RaftServerConfigKeys.setStorageDir(
                p, List.of(new File(settings.dataDir().toFile(), "raft")));
        Peer me = settings.me();
        GrpcConfigKeys.Server.setHost(p, me.host());
        GrpcConfigKeys.Server.setPort(p, me.port());
        TimeDuration min = TimeDuration.valueOf(settings.electionMin().toMillis(), TimeUnit.MILLISECONDS);
        TimeDuration max = TimeDuration.valueOf(settings.electionMax().toMillis(), TimeUnit.MILLISECONDS);
        RaftServerConfigKeys.Rpc.setTimeoutMin(p, min);
        RaftServerConfigKeys.Rpc.setTimeoutMax(p, max);
        // A starting group elects soon: a lone router serves its map a fraction of a second after start.
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(p, TimeDuration.valueOf(50, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(p, TimeDuration.valueOf(150, TimeUnit.MILLISECONDS));
        RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(3, TimeUnit.SECONDS));
        // Snapshots keep the log short; a member that lost its disk is sent the latest one.
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, settings.snapshotEvery());
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
        RaftServerConfigKeys.Log.setPurgeGap(p, (int) Math.min(settings.snapshotEvery(), 1024));
        // Only closed segments are purged: small ones (a map is tens of KB) let a snapshot free the log.
        RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf("1MB"));
        return p;
    }

    /**
     * Starts this router's member (binds its port, replays its log). {@code applied} hears every map
     * applied here, from the snapshot and log at start onwards; {@code leadership} hears when this
     * member starts leading (every earlier entry applied) and when it stops.
     */
    public static RouterGroup start(Settings settings, Consumer<ControlState> applied, Consumer<Boolean> leadership)
            throws IOException {
        RouterGroup group = new RouterGroup(settings, applied, leadership);
        group.server.start();
        LOG.infof(
                "router %s joined the routers' group %s (Raft on %s, log in %s)",
                settings.self(), settings.peers(), settings.me().address(), settings.dataDir());
        return group;
    }

    /** The state as applied here. */
    public ControlState applied() {
        return machine.state();
    }

    private Optional<DivisionInfo> info() {
        try {
            return Optional.of(server.getDivision(GROUP_ID).getInfo());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Whether this member leads, with every entry of earlier terms applied. */
    public boolean isLeader() {
        return info().map(i -> i.isLeader() && i.isLeaderReady()).orElse(false);
    }

    /**
     * Whether this member has applied everything it knows to be committed: it leads (a leader is
     * ready only once every earlier entry is applied here), or it has heard from a leader and
     * applied up to the commit index that leader sent. At start, a member replays its log first:
     * until then its state is a past one.
     */
    public boolean caughtUp() {
        if (isLeader()) {
            return true;
        }
        try {
            RaftServer.Division division = server.getDivision(GROUP_ID);
            long committed = division.getRaftLog().getLastCommittedIndex();
            return division.getInfo().getLeaderId() != null
                    && committed >= 0
                    && division.getInfo().getLastAppliedIndex() >= committed;
        } catch (IOException e) {
            return false;
        }
    }

    /** The member this one believes leads, if it knows one. */
    public Optional<String> leader() {
        return info().map(DivisionInfo::getLeaderId).map(RaftPeerId::toString);
    }

    /** This member's current term. */
    public long term() {
        return info().map(DivisionInfo::getCurrentTerm).orElse(-1L);
    }

    public String self() {
        return settings.self();
    }

    public List<Peer> peers() {
        return settings.peers();
    }

    /**
     * Sends {@code change} to the leader and completes with its outcome once it is committed and
     * applied there (or fails: no leader within the client's retries).
     */
    public CompletableFuture<MapChange.Reply> propose(ControlChange change) {
        return (isLeader() ? local : client)
                .async()
                .send(Message.valueOf(ByteString.copyFrom(change.encode())))
                .thenApply(RouterGroup::replyOf);
    }

    private static MapChange.Reply replyOf(RaftClientReply reply) {
        if (!reply.isSuccess()) {
            throw new IllegalStateException("the routers' group did not commit the change", reply.getException());
        }
        try {
            return MapChange.Reply.decode(reply.getMessage().getContent().toByteArray());
        } catch (IOException e) {
            throw new IllegalStateException("unreadable reply from the routers' group", e);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            client.close();
            local.close();
        } finally {
            try {
                server.close();
            } finally {
                events.shutdown();
            }
        }
    }
}
