package dev.qache.router.cluster;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * The router's current cluster map. Readers (every proxied request) take the current map without
 * locking; a change is computed from the current map, saved durably, and only then published, so
 * a map the router served from is always one it would recover after a restart.
 */
public final class ClusterState {

    private final AtomicReference<ClusterMap> current;
    private final ClusterMapFile file;
    private final List<Consumer<ClusterMap>> listeners = new CopyOnWriteArrayList<>();

    /** @param initial the map recovered from the file, or the bootstrap map (saved here if new) */
    public ClusterState(ClusterMap initial, ClusterMapFile file) throws IOException {
        this.file = file;
        if (file.load().map(ClusterMap::epoch).orElse(-1L) < initial.epoch()) {
            file.save(initial);
        }
        this.current = new AtomicReference<>(initial);
    }

    public ClusterMap current() {
        return current.get();
    }

    /** Applies a change and returns the new map; changes are serialized. */
    public ClusterMap update(UnaryOperator<ClusterMap> change) throws IOException {
        return update(change, next -> {});
    }

    /**
     * Applies a change: saves the new map, runs {@code beforePublish} with it (which may block:
     * failover uses it to hand the map to a promoted node before any write is routed there), then
     * publishes it. Call from a worker thread when {@code beforePublish} blocks.
     */
    public synchronized ClusterMap update(UnaryOperator<ClusterMap> change, Consumer<ClusterMap> beforePublish)
            throws IOException {
        ClusterMap next = change.apply(current.get());
        file.save(next);
        beforePublish.accept(next);
        current.set(next);
        listeners.forEach(listener -> listener.accept(next));
        return next;
    }

    /**
     * Takes {@code map} if it is newer than the current one (saved, then published), and says
     * whether it did: a map a node holds, adopted by a router that had an older one. A map of the
     * current epoch or older changes nothing (epochs only grow).
     */
    public synchronized boolean adoptIfNewer(ClusterMap map) throws IOException {
        if (map.epoch() <= current.get().epoch()) {
            return false;
        }
        file.save(map);
        current.set(map);
        listeners.forEach(listener -> listener.accept(map));
        return true;
    }

    /** Called with each new map, after it is saved and published. */
    public void onChange(Consumer<ClusterMap> listener) {
        listeners.add(listener);
    }
}
