package dev.qache.router.control;

import dev.qache.router.cluster.ClusterMap;
import dev.qache.router.cluster.ClusterMapJson;
import dev.qache.router.cluster.ClusterState;
import dev.qache.router.cluster.Promoted;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.jboss.logging.Logger;
import org.jspecify.annotations.Nullable;

/**
 * The router's side of the control plane (DESIGN.md, "Control plane"): its member of the routers'
 * Raft group, the maps the group applies handed to the {@link ClusterState}, and changes committed
 * through the group. Knows whether this router leads: the control loops (failure detection's
 * decisions, promotions, migrations, map pushes, write leases) run on the leader alone.
 */
public final class ControlPlane implements ClusterState.MapLog, AutoCloseable {

    private static final Logger LOG = Logger.getLogger(ControlPlane.class);

    private final Duration commitTimeout;
    private final AtomicReference<@Nullable ClusterState> state = new AtomicReference<>();
    private final AtomicReference<@Nullable ClusterMap> appliedBeforeState = new AtomicReference<>();
    private volatile @Nullable RouterGroup group;
    private volatile boolean leading;
    /** Notified on each applied entry and leadership change, for the wait at start. */
    private final Object progress = new Object();

    private final List<Consumer<Boolean>> leadershipListeners = new CopyOnWriteArrayList<>();

    private ControlPlane(Duration commitTimeout) {
        this.commitTimeout = commitTimeout;
    }

    /**
     * Starts this router's member and returns once the group has a map for it: the one in its own
     * log, one the leader sends, or, when it leads a group with no map yet, {@code seed}'s (the
     * newest of the map file, the nodes' maps and the configured shards), committed as the first.
     * Past {@code startTimeout} without a leader, it serves {@code seed}'s map uncommitted and takes
     * the group's when one comes.
     */
    public static Started start(
            RouterGroup.Settings settings, Duration startTimeout, Duration commitTimeout, Supplier<ClusterMap> seed)
            throws IOException {
        ControlPlane plane = new ControlPlane(commitTimeout);
        RouterGroup group = RouterGroup.start(settings, plane::applied, plane::leadershipChanged);
        plane.group = group;
        // Until this member has replayed its log and applied what the group committed (or leads):
        // a map applied on the way is a past one, and serving it, or planning from it, would be
        // wrong. Each applied entry and each leadership change wakes the wait.
        long deadline = System.nanoTime() + startTimeout.toNanos();
        synchronized (plane.progress) {
            // A follower of a new group also waits for the leader to commit the first map.
            while (!group.caughtUp() || (group.applied().isEmpty() && !group.isLeader())) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                try {
                    plane.progress.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 100)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while the routers' group started", e);
                }
            }
        }
        ControlState applied = group.applied();
        if (!applied.isEmpty()) {
            ClusterMap map = read(applied);
            LOG.infof(
                    "cluster map epoch %d with shards %s from the routers' group",
                    map.epoch(), map.shards().keySet());
            return new Started(plane, map);
        }
        ClusterMap seeded = seed.get();
        if (group.isLeader()) {
            if (plane.commit(null, seeded)) {
                LOG.infof(
                        "the routers' group had no map: committed epoch %d with shards %s as its first",
                        seeded.epoch(), seeded.shards().keySet());
            }
            ClusterMap now = group.applied().isEmpty() ? seeded : read(group.applied());
            return new Started(plane, now);
        }
        LOG.warnf(
                "the routers' group %s has no leader after %s: serving epoch %d (shards %s) uncommitted until it has one",
                settings.peers(), startTimeout, seeded.epoch(), seeded.shards().keySet());
        return new Started(plane, seeded);
    }

    /** A started control plane and the map to serve first. */
    public record Started(ControlPlane plane, ClusterMap map) {}

    /** From now on, maps the group applies go to {@code clusterState}, starting with any applied meanwhile. */
    public void serve(ClusterState clusterState) {
        state.set(clusterState);
        ClusterMap early = appliedBeforeState.getAndSet(null);
        if (early != null) {
            clusterState.applied(early);
        }
    }

    private void applied(ControlState applied) {
        synchronized (progress) {
            progress.notifyAll();
        }
        ClusterMap map;
        try {
            map = read(applied);
        } catch (IOException e) {
            LOG.errorf(e, "the routers' group applied a map this router cannot read (epoch %d)", applied.epoch());
            return;
        }
        ClusterState target = state.get();
        if (target == null) {
            appliedBeforeState.accumulateAndGet(map, (a, b) -> a == null || b.epoch() > a.epoch() ? b : a);
            return;
        }
        target.applied(map);
    }

    private void leadershipChanged(boolean leader) {
        leading = leader;
        synchronized (progress) {
            progress.notifyAll();
        }
        RouterGroup g = group;
        LOG.infof(
                "router %s %s the routers' group (term %d)",
                g == null ? "?" : g.self(), leader ? "now leads" : "no longer leads", g == null ? -1 : g.term());
        leadershipListeners.forEach(listener -> listener.accept(leader));
    }

    /**
     * Told {@code true} when this router starts leading (every earlier entry applied here) and
     * {@code false} when it stops, in order, on the group's event thread: must not block.
     */
    public void onLeadership(Consumer<Boolean> listener) {
        leadershipListeners.add(listener);
    }

    private static ClusterMap read(ControlState applied) throws IOException {
        return ClusterMapJson.read(applied.mapJson());
    }

    /**
     * Whether this router leads the group (its control loops may act). Checked before each
     * decision; a leader deposed meanwhile has its change refused by the group (the term check).
     */
    @Override
    public boolean leads() {
        RouterGroup g = group;
        return leading && g != null && g.isLeader();
    }

    /** The group as this router sees it, for status pages. */
    public RouterGroup group() {
        RouterGroup g = group;
        if (g == null) {
            throw new IllegalStateException("the control plane has not started");
        }
        return g;
    }

    @Override
    public boolean commit(@Nullable ClusterMap from, ClusterMap next, @Nullable Promoted promotion) throws IOException {
        RouterGroup g = group();
        // The leader's own decisions carry its term: a leader deposed meanwhile commits nothing.
        // A follower's (an admin write sent to it) carry none and rest on the epoch check alone.
        long term = g.isLeader() ? g.term() : -1;
        MapChange change = new MapChange(
                term,
                from == null ? MapChange.ANY_OLDER : from.epoch(),
                next.epoch(),
                ClusterMapJson.write(next),
                !next.moving().isEmpty(),
                promotion);
        try {
            MapChange.Reply reply = g.propose(change).get(commitTimeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!reply.applied()) {
                LOG.infof("the routers' group refused the map of epoch %d: %s", next.epoch(), reply.reason());
            }
            return reply.applied();
        } catch (ExecutionException e) {
            throw new IOException("the routers' group did not commit the map of epoch " + next.epoch(), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException(
                    "the routers' group did not commit the map of epoch " + next.epoch() + " within " + commitTimeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while committing the map of epoch " + next.epoch(), e);
        }
    }

    /**
     * What this router's member has applied: the map and the committed progress of the migration
     * it has under way ({@link ControlState#planEpoch()}, {@link ControlState#copied()}).
     */
    public ControlState applied() {
        return group().applied();
    }

    /**
     * Commits that the migration planned at {@code planEpoch} has copied {@code slots}, if this
     * router leads (a leader that takes over resumes from them). Completes with whether the group
     * applied it; never blocks.
     */
    public CompletableFuture<Boolean> recordCopied(long planEpoch, List<CopiedSlot> slots) {
        RouterGroup g = group();
        if (!g.isLeader()) {
            return CompletableFuture.completedFuture(false);
        }
        return g.propose(new ProgressChange(g.term(), planEpoch, slots)).thenApply(reply -> {
            if (!reply.applied()) {
                LOG.debugf("the routers' group refused the progress of %d slots: %s", slots.size(), reply.reason());
            }
            return reply.applied();
        });
    }

    /**
     * Commits that a graceful promotion of {@code shard} began ({@code begun}) or is over (null),
     * if this router leads (a leader that takes over calls off a hand-off it finds begun).
     * Completes with whether the group applied it; never blocks.
     */
    public CompletableFuture<Boolean> recordHandoff(String shard, @Nullable PendingHandoff begun) {
        RouterGroup g = group();
        if (!g.isLeader()) {
            return CompletableFuture.completedFuture(false);
        }
        return g.propose(new HandoffChange(g.term(), shard, begun)).thenApply(reply -> {
            if (!reply.applied()) {
                LOG.infof("the routers' group refused the hand-off record of shard %s: %s", shard, reply.reason());
            }
            return reply.applied();
        });
    }

    /** How long a change may take to commit before a caller that waits gives up. */
    public java.time.Duration commitTimeout() {
        return commitTimeout;
    }

    @Override
    public void close() throws IOException {
        RouterGroup g = group;
        if (g != null) {
            g.close();
        }
    }
}
