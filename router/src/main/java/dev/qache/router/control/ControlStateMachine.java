package dev.qache.router.control;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collection;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.MD5FileUtil;
import org.jboss.logging.Logger;

/**
 * The routers' replicated state machine: applies {@link ControlChange}s in log order to a {@link
 * ControlState}, deterministically and without I/O, and snapshots it into one file (written aside,
 * then moved into place). Listeners hear of each applied map and of this member becoming or ceasing
 * to be the leader; they run on Ratis' threads and must hand work off rather than block.
 */
final class ControlStateMachine extends BaseStateMachine {

    private static final Logger LOG = Logger.getLogger(ControlStateMachine.class);

    /** Told of leadership: {@code true} once this member leads with every earlier entry applied. */
    interface Leadership {
        void changed(boolean leader);
    }

    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    private final Consumer<ControlState> applied;
    private final Leadership leadership;
    private volatile ControlState state = ControlState.EMPTY;

    ControlStateMachine(Consumer<ControlState> applied, Leadership leadership) {
        this.applied = applied;
        this.leadership = leadership;
    }

    ControlState state() {
        return state;
    }

    // Ratis hands the storage to its snapshot manager before initialize runs: it must be this one.
    @Override
    public StateMachineStorage getStateMachineStorage() {
        return storage;
    }

    // The life cycle is this class's to keep: Ratis installs a snapshot from the leader only into
    // a machine it paused (its updater asserts PAUSED), then reinitializes it.
    @Override
    public synchronized void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage)
            throws IOException {
        getLifeCycle().startAndTransition(() -> {
            super.initialize(server, groupId, raftStorage);
            storage.init(raftStorage);
            load(storage.getLatestSnapshot());
        });
    }

    @Override
    public synchronized void pause() {
        getLifeCycle().transition(LifeCycle.State.PAUSING);
        getLifeCycle().transition(LifeCycle.State.PAUSED);
    }

    /** After a snapshot was installed from the leader: the state is the snapshot's. */
    @Override
    public synchronized void reinitialize() throws IOException {
        load(storage.loadLatestSnapshot());
        if (getLifeCycleState() == LifeCycle.State.PAUSED) {
            getLifeCycle().transition(LifeCycle.State.STARTING);
            getLifeCycle().transition(LifeCycle.State.RUNNING);
        }
    }

    private void load(SingleFileSnapshotInfo snapshot) throws IOException {
        if (snapshot == null || !Files.exists(snapshot.getFile().getPath())) {
            return;
        }
        Path file = snapshot.getFile().getPath();
        if (snapshot.getFile().getFileDigest() != null) {
            MD5FileUtil.verifySavedMD5(file.toFile(), snapshot.getFile().getFileDigest());
        }
        ControlState loaded = ControlState.decode(Files.readAllBytes(file));
        setLastAppliedTermIndex(SimpleStateMachineStorage.getTermIndexFromSnapshotFile(file.toFile()));
        state = loaded;
        applied.accept(loaded);
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        LogEntryProto entry = trx.getLogEntry();
        MapChange.Outcome outcome;
        try {
            ControlChange change = ControlChange.decode(
                    entry.getStateMachineLogEntry().getLogData().toByteArray());
            outcome = state.apply(change, entry.getTerm());
        } catch (IOException e) {
            // Never throw from here (Ratis would stop the server): an entry that cannot be read
            // changes nothing, on every member alike.
            outcome = new MapChange.Outcome(false, state, "unreadable entry: " + e.getMessage());
        }
        if (outcome.applied()) {
            state = outcome.state();
        }
        updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
        if (outcome.applied()) {
            applied.accept(outcome.state());
        }
        return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(outcome.encode())));
    }

    @Override
    public CompletableFuture<Message> query(Message request) {
        return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(state.encode())));
    }

    @Override
    public long takeSnapshot() throws IOException {
        TermIndex last = getLastAppliedTermIndex();
        if (last == null || last.getIndex() < 0) {
            return -1;
        }
        ControlState now = state;
        File file = storage.getSnapshotFile(last.getTerm(), last.getIndex());
        Path aside = file.toPath().resolveSibling(file.getName() + ".writing");
        Files.write(aside, now.encode());
        Files.move(aside, file.toPath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        MD5Hash digest = MD5FileUtil.computeAndSaveMd5ForFile(file);
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(file.toPath(), digest), last));
        LOG.debugf("control state snapshot at %s: %s", last, now);
        return last.getIndex();
    }

    @Override
    public void notifyLeaderReady() {
        leadership.changed(true);
    }

    @Override
    public void notifyNotLeader(Collection<TransactionContext> pending) throws IOException {
        leadership.changed(false);
    }
}
