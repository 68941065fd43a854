package dev.qache.node.api;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import dev.qache.node.store.ChangeListener;
import dev.qache.node.store.Clock;
import dev.qache.node.store.EntrySizer;
import dev.qache.node.store.EntryVisitor;
import dev.qache.node.store.PutResult;
import dev.qache.node.store.RemovalWatcher;
import dev.qache.node.store.SegmentedLruStore;
import dev.qache.node.store.Store;
import dev.qache.node.store.StoreStats;
import dev.qache.node.store.StoredValue;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.vertx.core.Context;
import jakarta.enterprise.inject.Alternative;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The hot path never leaves the event loop: every store call made by GET, POST and DELETE runs on
 * a Vert.x event-loop thread, observed by a store that records the thread of each call.
 */
@QuarkusTest
@TestProfile(EventLoopResourceTest.RecordingStoreProfile.class)
class EventLoopResourceTest {

    public static class RecordingStoreProfile implements QuarkusTestProfile {
        @Override
        public Set<Class<?>> getEnabledAlternatives() {
            return Set.of(ThreadRecordingStore.class);
        }
    }

    /** Records, for each data call, whether it ran on an event loop and on which thread. */
    @Alternative
    @Singleton
    public static class ThreadRecordingStore implements Store {
        static final List<String> CALLS = new CopyOnWriteArrayList<>();
        private final Store delegate = new SegmentedLruStore(1 << 20, 4, EntrySizer.forCurrentJvm(), Clock.SYSTEM);

        private void record(String op) {
            CALLS.add(op + " on " + Thread.currentThread().getName() + " eventLoop=" + Context.isOnEventLoopThread());
        }

        @Override
        public StoredValue get(byte[] key) {
            record("get");
            return delegate.get(key);
        }

        @Override
        public PutResult put(byte[] key, byte[] value, int valueOffset, int valueLength, long expireAtMillis) {
            record("put");
            return delegate.put(key, value, valueOffset, valueLength, expireAtMillis);
        }

        @Override
        public boolean delete(byte[] key) {
            record("delete");
            return delegate.delete(key);
        }

        @Override
        public int removeExpired(int maxEntries) {
            return delegate.removeExpired(maxEntries);
        }

        @Override
        public StoreStats stats() {
            return delegate.stats();
        }

        @Override
        public Clock clock() {
            return delegate.clock();
        }

        @Override
        public long scan(long cursor, int maxEntries, EntryVisitor visitor) {
            return delegate.scan(cursor, maxEntries, visitor);
        }

        @Override
        public void clear() {
            delegate.clear();
        }

        @Override
        public void expireLocally(boolean local) {
            delegate.expireLocally(local);
        }

        @Override
        public OptionalLong scanSlot(int slot, long fromHash, long maxBytes, EntryVisitor visitor) {
            return delegate.scanSlot(slot, fromHash, maxBytes, visitor);
        }

        @Override
        public boolean holds(byte[] key) {
            return delegate.holds(key);
        }

        @Override
        public void watchRemovals(RemovalWatcher watcher) {
            delegate.watchRemovals(watcher);
        }

        @Override
        public int dropSlot(int slot) {
            return delegate.dropSlot(slot);
        }

        @Override
        public byte[] putIfAbsent(byte[] key, byte[] value, int valueOffset, int valueLength, long expireAtMillis) {
            return delegate.putIfAbsent(key, value, valueOffset, valueLength, expireAtMillis);
        }

        @Override
        public boolean deleteIfSame(byte[] key, byte[] entry) {
            return delegate.deleteIfSame(key, entry);
        }

        @Override
        public void listen(ChangeListener listener) {
            delegate.listen(listener);
        }
    }

    @Test
    void dataCalls_runOnEventLoopThreads() {
        ThreadRecordingStore.CALLS.clear();

        given().contentType("application/json")
                .body("{\"value\":1,\"ttl\":60}")
                .post("/el")
                .then()
                .statusCode(204);
        given().get("/el").then().statusCode(200);
        given().get("/absent").then().statusCode(404);
        given().delete("/el").then().statusCode(204);

        assertThat(ThreadRecordingStore.CALLS)
                .hasSize(4)
                .allSatisfy(call -> assertThat(call).contains("eventLoop=true").contains("vert.x-eventloop-thread-"));
    }
}
