package dev.qache.router.control;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real Ratis members in one JVM, on loopback ports of their own, each with its own data directory:
 * the group elects one leader, every member applies what it commits, a deposed leader's or a stale
 * proposal changes nothing, the group goes on when its leader stops, a member that lost its disk
 * catches up (from a snapshot once the log is purged), and a lone member recovers its state from
 * its disk.
 */
@Timeout(120)
class RouterGroupTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private final Map<String, RouterGroup> members = new ConcurrentHashMap<>();
    private final Map<String, AtomicReference<ControlState>> seen = new ConcurrentHashMap<>();
    private final Map<String, Boolean> leading = new ConcurrentHashMap<>();
    private List<RouterGroup.Peer> peers;

    @AfterEach
    void stopAll() throws IOException {
        for (RouterGroup member : members.values()) {
            member.close();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private void peers(int count) throws IOException {
        peers = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            peers.add(new RouterGroup.Peer("r" + i, "127.0.0.1", freePort()));
        }
    }

    private void startThree(long snapshotEvery) throws IOException {
        peers(3);
        for (RouterGroup.Peer peer : peers) {
            start(peer.id(), snapshotEvery);
        }
    }

    private RouterGroup start(String id, long snapshotEvery) throws IOException {
        seen.put(id, new AtomicReference<>(ControlState.EMPTY));
        leading.put(id, false);
        RouterGroup member = RouterGroup.start(
                new RouterGroup.Settings(
                        peers, id, dir.resolve(id), Duration.ofMillis(500), Duration.ofMillis(1000), snapshotEvery),
                state -> seen.get(id).set(state),
                leader -> leading.put(id, leader));
        members.put(id, member);
        return member;
    }

    private RouterGroup awaitLeader() {
        AtomicReference<RouterGroup> found = new AtomicReference<>();
        await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> {
            List<RouterGroup> leaders =
                    members.values().stream().filter(RouterGroup::isLeader).toList();
            if (leaders.size() != 1) {
                return false;
            }
            found.set(leaders.getFirst());
            return true;
        });
        return found.get();
    }

    private RouterGroup followerOf(RouterGroup leader) {
        return members.values().stream().filter(m -> m != leader).findFirst().orElseThrow();
    }

    private static void deleteTree(Path root) throws IOException {
        try (java.util.stream.Stream<Path> paths = java.nio.file.Files.walk(root)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                java.nio.file.Files.delete(path);
            }
        }
    }

    private static byte[] map(long epoch) {
        return ("{\"epoch\":" + epoch + "}").getBytes(UTF_8);
    }

    /** The next map, computed by the leader from the map it applied. */
    private static MapChange.Reply next(RouterGroup leader) throws Exception {
        ControlState now = leader.applied();
        return leader.propose(new MapChange(leader.term(), now.epoch(), now.epoch() + 1, map(now.epoch() + 1)))
                .get(20, TimeUnit.SECONDS);
    }

    private void awaitEveryMemberAt(long epoch) {
        await().atMost(WAIT).untilAsserted(() -> {
            for (Map.Entry<String, RouterGroup> member : members.entrySet()) {
                assertThat(member.getValue().applied().epoch())
                        .as("applied on " + member.getKey())
                        .isEqualTo(epoch);
                assertThat(seen.get(member.getKey()).get().epoch())
                        .as("heard by " + member.getKey())
                        .isEqualTo(epoch);
            }
        });
    }

    @Test
    void threeMembers_electOneLeader_andEveryMemberAppliesWhatItCommits() throws Exception {
        startThree(1024);
        RouterGroup leader = awaitLeader();
        await().atMost(WAIT).until(() -> leading.get(leader.self()));

        for (int i = 0; i < 3; i++) {
            assertThat(next(leader).applied()).isTrue();
        }
        awaitEveryMemberAt(2);
        for (RouterGroup member : members.values()) {
            assertThat(member.leader()).contains(leader.self());
            assertThat(new String(member.applied().mapJson(), UTF_8)).isEqualTo("{\"epoch\":2}");
        }
        assertThat(leading.entrySet().stream().filter(Map.Entry::getValue).map(Map.Entry::getKey))
                .containsExactly(leader.self());
    }

    @Test
    void aStaleOrDeposedProposal_changesNothing_onAnyMember() throws Exception {
        startThree(1024);
        RouterGroup leader = awaitLeader();
        assertThat(next(leader).applied()).isTrue(); // epoch 0
        assertThat(next(leader).applied()).isTrue(); // epoch 1

        MapChange.Reply stale =
                leader.propose(new MapChange(leader.term(), 0, 2, map(2))).get(20, TimeUnit.SECONDS);
        assertThat(stale.applied()).isFalse();
        assertThat(stale.epoch()).isEqualTo(1);
        MapChange.Reply deposed =
                leader.propose(new MapChange(leader.term() - 1, 1, 2, map(2))).get(20, TimeUnit.SECONDS);
        assertThat(deposed.applied()).isFalse();
        assertThat(deposed.reason()).contains("term");

        // A follower's proposal reaches the leader through its client.
        RouterGroup follower =
                members.values().stream().filter(m -> m != leader).findFirst().orElseThrow();
        assertThat(follower.propose(new MapChange(-1, 1, 2, map(2)))
                        .get(20, TimeUnit.SECONDS)
                        .applied())
                .isTrue();
        awaitEveryMemberAt(2);
    }

    @Test
    void theLeaderStops_anotherLeads_andTheStoppedOneCatchesUpWhenBack() throws Exception {
        startThree(1024);
        RouterGroup first = awaitLeader();
        assertThat(next(first).applied()).isTrue(); // epoch 0
        String gone = first.self();
        members.remove(gone).close();

        long stoppedAt = System.nanoTime();
        RouterGroup second = awaitLeader();
        System.out.printf(
                "leader %s stopped: %s leads after %d ms%n",
                gone, second.self(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt));
        assertThat(second.self()).isNotEqualTo(gone);
        assertThat(second.applied().epoch()).isEqualTo(0);
        assertThat(next(second).applied()).isTrue(); // epoch 1
        assertThat(next(second).applied()).isTrue(); // epoch 2

        start(gone, 1024);
        awaitEveryMemberAt(2);
    }

    @Test
    void aMemberThatLostItsDisk_catchesUp_fromTheLeadersSnapshot() throws Exception {
        startThree(5);
        RouterGroup leader = awaitLeader();
        RouterGroup lost = followerOf(leader);
        String id = lost.self();
        members.remove(id).close();
        deleteTree(dir.resolve(id));

        // Maps of 64 KB, enough of them to fill log segments that snapshots let the leader purge.
        byte[] big = new byte[64 * 1024];
        java.util.Arrays.fill(big, (byte) ' ');
        for (int i = 0; i < 40; i++) {
            ControlState now = leader.applied();
            byte[] map = java.nio.ByteBuffer.allocate(big.length + 16)
                    .put(map(now.epoch() + 1))
                    .put(big)
                    .array();
            assertThat(leader.propose(new MapChange(leader.term(), now.epoch(), now.epoch() + 1, map))
                            .get(20, TimeUnit.SECONDS)
                            .applied())
                    .isTrue();
        }
        start(id, 5);
        awaitEveryMemberAt(39);
        assertThat(members.get(id).applied()).isEqualTo(leader.applied());
    }

    @Test
    void aLoneMember_leadsAtOnce_andRecoversItsStateFromItsDisk() throws Exception {
        peers(1);
        RouterGroup lone = start("r1", 5);
        long startedAt = System.nanoTime();
        awaitLeader();
        System.out.printf(
                "a lone member leads %d ms after it started%n",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedAt));
        for (int i = 0; i < 8; i++) {
            assertThat(next(lone).applied()).isTrue();
        }
        members.remove("r1").close();

        RouterGroup again = start("r1", 5);
        await().atMost(WAIT).until(() -> again.applied().epoch() == 7);
        assertThat(seen.get("r1").get().epoch()).isEqualTo(7);
        awaitLeader();
        assertThat(next(again).applied()).isTrue();
        assertThat(again.applied().epoch()).isEqualTo(8);
    }
}
