package dev.qache.router.cluster;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.jboss.logging.Logger;
import org.jspecify.annotations.Nullable;

/**
 * The cluster map this router serves from. Readers (every proxied request) take the current map
 * without locking. A change is computed from the current map and committed to the routers' group
 * ({@link MapLog}, the Raft log) before it is published, so a map any router served from is one the
 * group agreed on and would recover after a restart. Maps committed by the group (by another
 * router, or replayed at start) are published as they are applied. Publishing only moves forward:
 * a map not newer than the current one is never published.
 */
public final class ClusterState {

    private static final Logger LOG = Logger.getLogger(ClusterState.class);

    /** Where maps are agreed and kept: the routers' Raft group. */
    public interface MapLog {
        /**
         * Commits {@code next}, computed from {@code from} ({@code null}: over any older map), and
         * says whether it applied (it does not once the group's map moved on from {@code from}).
         * Blocks until the group answers.
         */
        default boolean commit(@Nullable ClusterMap from, ClusterMap next) throws IOException {
            return commit(from, next, null);
        }

        /** {@link #commit(ClusterMap, ClusterMap)}, with the promotion {@code next} makes, recorded with it. */
        boolean commit(@Nullable ClusterMap from, ClusterMap next, @Nullable Promoted promotion) throws IOException;

        /** Whether this router leads the group, so its control loops may act. */
        boolean leads();
    }

    private final AtomicReference<ClusterMap> current;
    private final MapLog log;
    private final @Nullable ClusterMapFile copy;
    private final List<Consumer<ClusterMap>> listeners = new CopyOnWriteArrayList<>();
    /** Guards publishing, never held across a wait (the group's applier thread publishes too). */
    private final Object publishing = new Object();
    /** The epoch of this router's own change being committed: published by update, not by the applier. */
    private volatile long inFlight = Long.MIN_VALUE;

    private final AtomicReference<@Nullable ClusterMap> lastApplied = new AtomicReference<>();

    /** The map published before the current one; null until a second is published. */
    private volatile @Nullable ClusterMap previous;

    /** This router's change being committed and pushed, not yet published; null when none. */
    private volatile @Nullable ClusterMap pending;

    /**
     * @param initial the map to serve first: the group's, or the one it was seeded with
     * @param copy a file rewritten with each published map, for people and for seeding; or null
     */
    public ClusterState(ClusterMap initial, MapLog log, @Nullable ClusterMapFile copy) {
        this.log = log;
        this.copy = copy;
        this.current = new AtomicReference<>(initial);
        writeCopy(initial);
    }

    public ClusterMap current() {
        return current.get();
    }

    /**
     * The map published before {@link #current}, or null: some primaries may still hold it for a
     * moment after a change is published (a push that timed out).
     */
    public @Nullable ClusterMap previous() {
        return previous;
    }

    /**
     * This router's change from the moment it is computed until it is published or fails, or null:
     * primaries may already hold it (it is pushed to them before it is published).
     */
    public @Nullable ClusterMap pending() {
        return pending;
    }

    /**
     * A map the group applied on this router (on the group's thread; must not block long): published
     * now, unless it is this router's own change, which {@link #update} publishes once the change's
     * {@code beforePublish} has run.
     */
    public void applied(ClusterMap map) {
        lastApplied.accumulateAndGet(map, (a, b) -> a == null || b.epoch() > a.epoch() ? b : a);
        if (map.epoch() != inFlight) {
            publish(map);
        }
    }

    /** Applies a change and returns the new map; changes are serialized. */
    public ClusterMap update(UnaryOperator<ClusterMap> change) throws IOException {
        return update(change, next -> {});
    }

    /**
     * Applies a change: commits the new map to the group, runs {@code beforePublish} with it (which
     * may block: failover uses it to hand the map to a promoted node before any write is routed
     * there), then publishes it. Fails, changing nothing, if the group's map moved on meanwhile
     * (another router's change). Call from a worker thread: it waits for the group.
     */
    public ClusterMap update(UnaryOperator<ClusterMap> change, Consumer<ClusterMap> beforePublish) throws IOException {
        return update(change, beforePublish, null);
    }

    /** {@link #update(UnaryOperator, Consumer)} of a change that promotes a replica: the group records {@code promotion} with the map. */
    public synchronized ClusterMap update(
            UnaryOperator<ClusterMap> change, Consumer<ClusterMap> beforePublish, @Nullable Promoted promotion)
            throws IOException {
        ClusterMap from = current.get();
        ClusterMap next = change.apply(from);
        inFlight = next.epoch();
        pending = next;
        try {
            if (!log.commit(from, next, promotion)) {
                throw new IOException("the cluster map moved on from epoch " + from.epoch()
                        + " before the change to epoch " + next.epoch() + " was committed; nothing changed");
            }
            beforePublish.accept(next);
            publish(next);
        } finally {
            inFlight = Long.MIN_VALUE;
            pending = null;
            // A change whose commit was not confirmed may still have applied: serve it.
            ClusterMap applied = lastApplied.get();
            if (applied != null) {
                publish(applied);
            }
        }
        return next;
    }

    /**
     * Takes {@code map} if it is newer than the current one (committed, then published), and says
     * whether it did: a map a node holds, adopted by a router that had an older one. A map of the
     * current epoch or older changes nothing (epochs only grow).
     */
    public synchronized boolean adoptIfNewer(ClusterMap map) throws IOException {
        if (map.epoch() <= current.get().epoch()) {
            return false;
        }
        if (!log.commit(null, map)) {
            return false;
        }
        publish(map);
        return true;
    }

    private void publish(ClusterMap map) {
        synchronized (publishing) {
            if (map.epoch() <= current.get().epoch()) {
                return;
            }
            previous = current.getAndSet(map);
            writeCopy(map);
            listeners.forEach(listener -> listener.accept(map));
        }
    }

    private void writeCopy(ClusterMap map) {
        if (copy == null) {
            return;
        }
        try {
            copy.replace(map);
        } catch (IOException e) {
            LOG.warnf("could not write the copy of the cluster map (epoch %d) to %s: %s", map.epoch(), copy.path(), e);
        }
    }

    /** Whether this router leads the routers' group: only the leader pushes maps and decides. */
    public boolean leads() {
        return log.leads();
    }

    /** Called with each new map, after it is committed and published. */
    public void onChange(Consumer<ClusterMap> listener) {
        listeners.add(listener);
    }
}
