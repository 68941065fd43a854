package dev.qache.node.migration;

import dev.qache.node.cluster.SlotOwnership;
import dev.qache.node.config.NodeConfig;
import dev.qache.node.replication.ImportMarks;
import dev.qache.node.store.KeyHash;
import dev.qache.node.store.RemovalWatcher;
import dev.qache.node.store.Store;
import dev.qache.protocol.Slots;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * What a migration's target knows about the keys of the slots it imports (DESIGN.md, Wave 2,
 * "Migration"): which keys changed here since the import began, so that the copy never overwrites
 * them and a miss here is final for them.
 *
 * <p>A key written here is in the store, and the copy only stores absent keys; so what must be
 * remembered are the keys removed here: deleted by a client (even when absent), expired, evicted,
 * or deleted by the primary's stream on a replica (even when absent: the primary streams every
 * delete). A primary hands its marks to a replica at the start of a full sync ({@link
 * ImportMarks}), since the snapshot carries only the store. Their key hashes are kept per slot, in memory
 * bounded by {@code qache.node.migration.touched-limit} and shown as {@code
 * qache_migration_touched_bytes}. When the bound is reached, the slot whose set would grow is
 * marked <em>overflowed</em>: every key of it counts as changed, so its copy stores nothing more
 * and every miss of it is final: misses instead of old values ({@code
 * qache_migration_touched_overflows_total}). A key hash shared by two keys makes the other key
 * count as changed too: a miss, never an old value.
 *
 * <p>A miss is also final once this node, as primary, has finished importing the slot (it holds
 * everything the source had), and for a key whose entry is here but expired and kept (a replica
 * hides it until its primary's delete arrives).
 *
 * <p>Each slot also keeps the newest copy attempt begun here, so an older attempt still running
 * stops at its next chunk, and a late answer can never be taken for a newer one's. The state of a
 * slot is forgotten when a map no longer has it importing here.
 */
@Singleton
public class ImportTracker implements RemovalWatcher, ImportMarks {

    private static final Logger LOG = Logger.getLogger(ImportTracker.class);

    /** One importing slot; its fields are guarded by the object itself. */
    static final class SlotState {
        private LongHashSet removed = new LongHashSet();
        private boolean overflowed;
        private boolean complete;
        private long attempt = -1;
    }

    private final Store store;
    private final SlotOwnership ownership;
    private final long limitBytes;
    private final Map<Integer, SlotState> slots = new ConcurrentHashMap<>();
    private final AtomicLong bytes = new AtomicLong();
    private final Counter overflows;

    @Inject
    ImportTracker(Store store, SlotOwnership ownership, NodeConfig config, MeterRegistry registry) {
        this(store, ownership, config.migration().touchedLimit().asLongValue(), registry);
    }

    ImportTracker(Store store, SlotOwnership ownership, long limitBytes, MeterRegistry registry) {
        this.store = store;
        this.ownership = ownership;
        this.limitBytes = limitBytes;
        Gauge.builder("qache.migration.touched", bytes, AtomicLong::get)
                .baseUnit("bytes")
                .description("Memory holding the keys changed on this node while their slots import")
                .register(registry);
        this.overflows = Counter.builder("qache.migration.touched.overflows")
                .description("Importing slots whose changed keys outgrew qache.node.migration.touched-limit:"
                        + " every key of them then counts as changed")
                .register(registry);
        store.watchRemovals(this);
    }

    /** The store removed {@code entry} (under its segment lock). */
    @Override
    public void removed(byte[] entry) {
        if (ownership.importingAny()) {
            touched(RemovalWatcher.keyHash(entry));
        }
    }

    /**
     * A delete found no entry (under its segment lock): a client delete of a key not copied yet, or,
     * on a replica, the primary's delete of a key this replica does not hold (in a full sync).
     */
    @Override
    public void deletedAbsent(byte[] key) {
        if (ownership.importingAny()) {
            touched(KeyHash.of(key));
        }
    }

    private void touched(long hash) {
        int slot = Slots.ofHash(hash);
        if (ownership.importing(slot)) {
            mark(slot, hash);
        }
    }

    private void mark(int slot, long hash) {
        SlotState state = slots.computeIfAbsent(slot, s -> newState());
        synchronized (state) {
            if (state.overflowed || state.removed.contains(hash)) {
                return;
            }
            long growth = state.removed.bytesAfterAdd() - state.removed.bytes();
            if (growth > 0 && bytes.get() + growth > limitBytes) {
                overflow(slot, state);
                return;
            }
            state.removed.add(hash);
            bytes.addAndGet(growth);
        }
    }

    /** Under the state's lock: every key of the slot counts as changed from now on. */
    private void overflow(int slot, SlotState state) {
        bytes.addAndGet(-state.removed.bytes());
        state.removed = new LongHashSet();
        bytes.addAndGet(state.removed.bytes());
        state.overflowed = true;
        overflows.increment();
        LOG.warnf(
                "slot %d: the keys changed while it imports outgrew qache.node.migration.touched-limit"
                        + " (%d bytes); every key of it now counts as changed (its copy stores no more)",
                slot, limitBytes);
    }

    @Override
    public void forEach(ImportMarks.Visitor visitor) {
        slots.forEach((slot, state) -> {
            boolean overflowed;
            long[] hashes;
            synchronized (state) {
                overflowed = state.overflowed;
                hashes = state.removed.toArray();
            }
            if (overflowed || hashes.length > 0) {
                visitor.visit(slot, overflowed, hashes);
            }
        });
    }

    @Override
    public void restore(int slot, boolean overflowed, long[] hashes) {
        if (overflowed) {
            SlotState state = slots.computeIfAbsent(slot, s -> newState());
            synchronized (state) {
                if (!state.overflowed) {
                    overflow(slot, state);
                }
            }
            return;
        }
        for (long hash : hashes) {
            mark(slot, hash);
        }
    }

    private SlotState newState() {
        SlotState state = new SlotState();
        bytes.addAndGet(state.removed.bytes());
        return state;
    }

    /** Whether the copy must leave the key with hash {@code hash} alone: it changed here. */
    boolean changed(int slot, long hash) {
        SlotState state = slots.get(slot);
        if (state == null) {
            return false;
        }
        synchronized (state) {
            return state.overflowed || state.removed.contains(hash);
        }
    }

    /**
     * After a miss of {@code key}, for a caller that routed by the map of {@code requestEpoch} (-1
     * when the request named none): whether a migration's source may still hold the key, so the
     * router should ask there. Either the key's slot imports here and nothing here says the key is
     * gone, or this node has no map yet while the caller has one: the map that makes this node a
     * migration's target may still be on its way (a new shard answers reads before its first map
     * lands), and a node that has begun no import cannot vouch for a miss.
     */
    public boolean mayBeOnSource(byte[] key, long requestEpoch) {
        if (ownership.epoch() < 0) {
            return requestEpoch >= 0;
        }
        return ownership.importingAny() && ownership.importing(Slots.of(key)) && !finalMiss(key);
    }

    /**
     * After a miss of {@code key}, whose slot imports here: whether the miss is final (the source
     * is not to be asked): the key changed here, the slot's import finished here, or the key's entry
     * is here but expired.
     */
    public boolean finalMiss(byte[] key) {
        long hash = KeyHash.of(key);
        SlotState state = slots.get(Slots.ofHash(hash));
        if (state != null) {
            synchronized (state) {
                if (state.complete || state.overflowed || state.removed.contains(hash)) {
                    return true;
                }
            }
        }
        return store.holds(key);
    }

    /** What {@link #begin} found. */
    enum Start {
        /** The attempt runs. */
        STARTED,
        /** The slot's import already finished here: nothing to copy. */
        COMPLETE,
        /** A newer attempt has begun: this one must not run. */
        SUPERSEDED
    }

    /** A copy attempt of {@code slot} begins; attempts are numbered by the router, newest highest. */
    Start begin(int slot, long attempt) {
        SlotState state = slots.computeIfAbsent(slot, s -> newState());
        synchronized (state) {
            if (attempt < state.attempt) {
                return Start.SUPERSEDED;
            }
            state.attempt = attempt;
            return state.complete ? Start.COMPLETE : Start.STARTED;
        }
    }

    /** Whether {@code attempt} is still the newest copy attempt of {@code slot} begun here. */
    boolean current(int slot, long attempt) {
        SlotState state = slots.get(slot);
        if (state == null) {
            return false;
        }
        synchronized (state) {
            return state.attempt == attempt;
        }
    }

    /** The attempt copied the whole slot: from now on every miss of it here is final. */
    boolean complete(int slot, long attempt) {
        SlotState state = slots.get(slot);
        if (state == null) {
            return false;
        }
        synchronized (state) {
            if (state.attempt != attempt) {
                return false;
            }
            state.complete = true;
            return true;
        }
    }

    /**
     * After a map is installed: forget the slots that no longer import here, and, on a node that is
     * no longer a primary, every finished import (its store now follows another primary's).
     */
    public void mapInstalled() {
        boolean primary = ownership.role() == SlotOwnership.Role.PRIMARY;
        slots.entrySet().removeIf(e -> {
            if (ownership.importing(e.getKey())) {
                if (!primary) {
                    synchronized (e.getValue()) {
                        e.getValue().complete = false;
                    }
                }
                return false;
            }
            synchronized (e.getValue()) {
                bytes.addAndGet(-e.getValue().removed.bytes());
            }
            return true;
        });
    }

    /** Bytes held, as the gauge shows them. */
    long bytes() {
        return bytes.get();
    }
}
