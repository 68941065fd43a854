package dev.qache.router.failover;

import dev.qache.edge.ClusterTls;
import dev.qache.protocol.Fencing;
import dev.qache.protocol.HandedOff;
import dev.qache.protocol.NodeStatus;
import dev.qache.router.cluster.ClusterMap;
import dev.qache.router.cluster.ClusterState;
import dev.qache.router.cluster.NodeJson;
import dev.qache.router.cluster.Shard;
import dev.qache.router.config.RouterConfig;
import dev.qache.router.failover.FailureDetector.Health;
import dev.qache.router.failover.FailureDetector.Probe;
import dev.qache.router.failover.FailureDetector.Transition;
import dev.qache.router.security.Credentials;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * Probes every node of the map ({@code GET /_internal/status}) each probe interval, feeds the
 * answers to the {@link FailureDetector}, and keeps each node's last status (role, replication
 * offset, keys, memory) for failover and the admin API. Runs on one event loop.
 */
@Singleton
public class NodeMonitor {

    private static final Logger LOG = Logger.getLogger(NodeMonitor.class);

    private final Vertx vertx;
    private final ClusterState cluster;
    private final Credentials credentials;
    private final RouterConfig.Failover config;
    private final HttpClient client;
    private final FailureDetector detector;
    private final Map<String, Health> health = new ConcurrentHashMap<>();
    private final Map<String, NodeStatus> statuses = new ConcurrentHashMap<>();
    private final long startedNanos = System.nanoTime();
    private final List<Consumer<Transition>> listeners = new CopyOnWriteArrayList<>();

    /**
     * For each node, when this router received the status answer whose nonce it last named in a
     * grant (nanoTime). The node issued that nonce before, and a lease runs from its nonce, so
     * every lease the node holds ends before this plus the lease, however late a grant arrives.
     */
    private final Map<String, Long> leaseSent = new ConcurrentHashMap<>();

    /** When each node's last status answer arrived (nanoTime). */
    private final Map<String, Long> answeredNanos = new ConcurrentHashMap<>();

    /**
     * The history a grant to a node, bound to an epoch, names, or null for no grant: the failover
     * policy's answer (see {@link Failover}).
     */
    private volatile LeasePolicy leases = (node, epoch) -> null;

    /** Decides whether a node may be granted a write lease bound to an epoch, and for which history. */
    @FunctionalInterface
    public interface LeasePolicy {
        /** The history to grant {@code node} a lease for at {@code epoch}, or null for none. */
        @org.jspecify.annotations.Nullable
        String historyFor(String node, long epoch);
    }

    /**
     * Nodes granted nothing whatever the policy says: the old primary of a shard being failed over,
     * from the moment the promotion is decided until the new map is published. Guarded, with the
     * grants' bookkeeping, by {@link #grants}.
     */
    private final Set<String> withheld = new java.util.HashSet<>();

    private final Object grants = new Object();

    private Context context;

    NodeMonitor(Vertx vertx, ClusterState cluster, Credentials credentials, ClusterTls tls, RouterConfig config) {
        this.vertx = vertx;
        this.cluster = cluster;
        this.credentials = credentials;
        this.config = config.failover();
        this.client = vertx.createHttpClient(tls.apply(
                new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true).setConnectTimeout((int)
                        this.config.probeTimeout().toMillis())));
        this.detector = new FailureDetector(this.config.probeTimeout().toNanos(), this.config.failureThreshold());
    }

    void start(@Observes StartupEvent started) {
        context = vertx.getOrCreateContext();
        context.runOnContext(ignored ->
                vertx.setPeriodic(0, Math.max(10, config.probeInterval().toMillis()), id -> tick()));
    }

    /** Called (on the monitor's event loop) with every change of a node's health. */
    public void onTransition(Consumer<Transition> listener) {
        listeners.add(listener);
    }

    public Health health(String node) {
        return health.getOrDefault(node, Health.UP);
    }

    /**
     * Whether this router has heard from the node since it started. A node that has not answered
     * yet may just be slow to start, like the router itself.
     */
    public boolean answeredSinceStart(String node) {
        return statuses.containsKey(node);
    }

    /** Decides, for each probe, whether it grants the node a write lease (and for which history). */
    public void grantLeasesBy(LeasePolicy policy) {
        this.leases = policy;
    }

    /**
     * Grants {@code node} no lease until {@link #release}: once this returns no grant to it is
     * being sent, so {@link #leaseSentNanos} is final and a promotion decided from it stays sound
     * while the new map is committed and pushed (a paused primary that answers again meanwhile
     * would otherwise get a fresh lease and take writes beside the node replacing it).
     */
    public void withhold(String node) {
        synchronized (grants) {
            withheld.add(node);
        }
    }

    /** Ends a {@link #withhold}. */
    public void release(String node) {
        synchronized (grants) {
            withheld.remove(node);
        }
    }

    /**
     * The epoch a probe of {@code node} grants its lease at: the one the node last said it holds,
     * which the policy accepts only while the router may still route or push by that map (see
     * {@link LeaseScope}); the current epoch when the node has not answered yet.
     */
    private long grantEpoch(String node) {
        NodeStatus status = statuses.get(node);
        return status == null ? cluster.current().epoch() : status.epoch();
    }

    /**
     * Every lease {@code node} holds ends before this plus the lease (see {@link #leaseSent}). A
     * router that just started cannot know what the one before it granted, so it counts from its
     * own start; one that just became the routers' leader, from when the leader before it surely
     * stopped granting ({@link #othersGrantUntil}).
     */
    public long leaseSentNanos(String node) {
        long sent = leaseSent.getOrDefault(node, startedNanos);
        long others = othersGrantUntilNanos;
        return sent - others < 0 ? others : sent;
    }

    private volatile long othersGrantUntilNanos = startedNanos;

    /**
     * Another router may have granted leases until {@code nanos} (nanoTime): a new leader of the
     * routers' group calls this with the time by which its predecessor, if only cut off rather than
     * dead, has noticed it no longer leads and stopped.
     */
    public void othersGrantUntil(long nanos) {
        othersGrantUntilNanos = nanos;
    }

    /**
     * The nonce a grant to {@code node} names (from its last status answer), recording that a
     * grant is sent now; null when the node has not answered yet.
     */
    public String leaseNonce(String node) {
        NodeStatus status = statuses.get(node);
        Long answered = answeredNanos.get(node);
        if (status == null || answered == null) {
            return null;
        }
        leaseSent.merge(node, answered, Math::max);
        return Long.toString(status.leaseNonce());
    }

    /** How long this router's monitor has been running. */
    public java.time.Duration uptime() {
        return java.time.Duration.ofNanos(System.nanoTime() - startedNanos);
    }

    /** The node's last answered status, or null if it never answered. */
    public @org.jspecify.annotations.Nullable NodeStatus status(String node) {
        return statuses.get(node);
    }

    /** Asks a node for its status now, outside the probe schedule (for a forced promotion). */
    public Future<NodeStatus> fetchStatus(String node) {
        return fetchStatus(node, config.probeTimeout().toMillis());
    }

    /** {@link #fetchStatus(String)} with its own timeout (a node just started answers slowly at first). */
    public Future<NodeStatus> fetchStatus(String node, long timeoutMillis) {
        return fetchStatus(node, timeoutMillis, false);
    }

    /** Nodes with a renewal of their lease in flight (see {@link #renewLeaseNow}). */
    private final Set<String> renewing = ConcurrentHashMap.newKeySet();

    /**
     * A primary refused a write for want of a lease: renew it now instead of at the next probe
     * (a status call for a fresh nonce, then the grant), if the failover policy grants one. At
     * most one renewal per node at a time; the answers feed the statuses as probes' do.
     */
    public void renewLeaseNow(String node) {
        // No check against the last status first: it may predate the map that made the node
        // primary. The grant, after a fresh status, is the policy's to allow.
        if (!renewing.add(node)) {
            return;
        }
        long timeout = probeCallTimeoutMillis();
        context.runOnContext(ignored -> fetchStatus(node, timeout, false)
                .compose(status -> {
                    answered(node, status);
                    return fetchStatus(node, timeout, true);
                })
                .onComplete(result -> {
                    renewing.remove(node);
                    if (result.succeeded()) {
                        answered(node, result.result());
                    }
                }));
    }

    /**
     * Adds a write lease for {@code node} at {@code epoch} to a request, as a probe would, if the
     * failover policy grants it one now: the map pushed to a primary at each migration step then
     * carries one, so the primary takes writes under the new map at once.
     */
    public void grantLease(String node, long epoch, RequestOptions request) {
        addLease(request, node, epoch);
    }

    /**
     * Completes once a status answer of {@code node} is known (asking for one now if none is), so
     * that a grant can name a nonce: a shard's primary that was never probed (a shard being added)
     * then gets its lease with the map pushed to it. Completes without one if the node does not
     * answer.
     */
    public Future<Void> knowStatusOf(String node) {
        if (statuses.containsKey(node)) {
            return Future.succeededFuture();
        }
        return fetchStatus(node, probeCallTimeoutMillis(), false)
                .map(status -> {
                    answered(node, status);
                    return (Void) null;
                })
                .otherwise((Void) null);
    }

    /**
     * The lease headers for a grant to {@code node} at {@code epoch}, if the policy grants one and
     * a nonce is known. Deciding and recording the grant are one step under {@link #grants}, so
     * that after {@link #withhold} returns no grant is on its way.
     */
    private void addLease(RequestOptions request, String node, long epoch) {
        String history;
        String nonce;
        synchronized (grants) {
            history = withheld.contains(node) ? null : leases.historyFor(node, epoch);
            nonce = history == null ? null : leaseNonce(node);
        }
        if (nonce != null) {
            request.putHeader(Fencing.LEASE_NONCE, nonce)
                    .putHeader(
                            Fencing.LEASE_MILLIS,
                            Long.toString(config.writeLease().toMillis()))
                    .putHeader(Fencing.LEASE_EPOCH, Long.toString(epoch))
                    .putHeader(Fencing.LEASE_HISTORY, history);
        }
    }

    /** Records a status answer of {@code node}, received now. */
    private void answered(String node, NodeStatus status) {
        answeredNanos.put(node, System.nanoTime());
        statuses.put(node, status);
    }

    /**
     * How long a probe's call may wait: the detector counts a probe not answered within the probe
     * timeout as failed, but a late answer still brings a nonce to renew the lease with (under
     * load, answers come late long before a node is down).
     */
    private long probeCallTimeoutMillis() {
        return Math.max(config.probeTimeout().toMillis(), config.writeLease().toMillis());
    }

    /** A status call; {@code grant}: it also grants the lease the policy allows (see {@link #addLease}). */
    private Future<NodeStatus> fetchStatus(String node, long timeoutMillis, boolean grant) {
        int colon = node.lastIndexOf(':');
        RequestOptions request = new RequestOptions()
                .setMethod(HttpMethod.GET)
                .setHost(node.substring(0, colon))
                .setPort(Integer.parseInt(node.substring(colon + 1)))
                .setURI("/_internal/status")
                .setIdleTimeout(timeoutMillis)
                .putHeader("Authorization", credentials.clusterAuthorization());
        if (grant) {
            addLease(request, node, grantEpoch(node));
        }
        return client.request(request)
                .compose(r -> r.send().compose(response -> {
                    if (response.statusCode() != 200) {
                        return Future.failedFuture("status " + response.statusCode());
                    }
                    return response.body()
                            .map(body -> NodeJson.read(body.getBytes(), NodeStatus.class, "status answer"));
                }));
    }

    /**
     * Asks {@code primary} to hand its shard to {@code replica} (POST /_internal/handoff): the
     * future has the final offset once the replica holds it, and fails otherwise.
     */
    public Future<HandedOff> handoff(String primary, String replica, java.time.Duration timeout) {
        int colon = primary.lastIndexOf(':');
        RequestOptions request = new RequestOptions()
                .setMethod(HttpMethod.POST)
                .setHost(primary.substring(0, colon))
                .setPort(Integer.parseInt(primary.substring(colon + 1)))
                .setURI("/_internal/handoff?to=" + replica + "&timeout-ms=" + timeout.toMillis())
                .setIdleTimeout(timeout.toMillis() + 1_000)
                .putHeader("Authorization", credentials.clusterAuthorization());
        return client.request(request)
                .compose(r -> r.send()
                        .compose(response -> response.body()
                                .compose(body -> response.statusCode() == 200
                                        ? Future.succeededFuture(
                                                NodeJson.read(body.getBytes(), HandedOff.class, "hand-off answer"))
                                        : Future.failedFuture(response.statusCode() + " " + body))));
    }

    /** Calls a hand-off off: the primary takes writes again. Best effort. */
    public void cancelHandoff(String primary) {
        int colon = primary.lastIndexOf(':');
        client.request(new RequestOptions()
                        .setMethod(HttpMethod.DELETE)
                        .setHost(primary.substring(0, colon))
                        .setPort(Integer.parseInt(primary.substring(colon + 1)))
                        .setURI("/_internal/handoff")
                        .setIdleTimeout(2_000)
                        .putHeader("Authorization", credentials.clusterAuthorization()))
                .compose(r -> r.send())
                .onFailure(e -> LOG.warnf("calling off the hand-off of %s: %s", primary, e.toString()));
    }

    private void tick() {
        Set<String> nodes = new LinkedHashSet<>();
        // The nodes of a change in flight too: a shard being added is probed (and its nonces
        // known) before the map naming it is published.
        for (ClusterMap map : java.util.Arrays.asList(cluster.current(), cluster.pending())) {
            if (map == null) {
                continue;
            }
            for (Shard shard : map.shards().values()) {
                nodes.add(shard.primary());
                nodes.addAll(shard.replicas());
            }
        }
        detector.watch(nodes);
        health.keySet().retainAll(nodes);
        statuses.keySet().retainAll(nodes);
        leaseSent.keySet().retainAll(nodes);
        answeredNanos.keySet().retainAll(nodes);
        List<Transition> transitions = new ArrayList<>();
        for (Probe probe : detector.tick(System.nanoTime(), transitions)) {
            fetchStatus(probe.node(), probeCallTimeoutMillis(), true).onComplete(result -> {
                List<Transition> answered = new ArrayList<>();
                if (result.succeeded()) {
                    answered(probe.node(), result.result());
                    detector.succeeded(probe.node(), probe.sequence(), answered);
                } else {
                    LOG.debugf("probe %d of %s failed: %s", probe.sequence(), probe.node(), result.cause());
                    detector.failed(probe.node(), probe.sequence(), answered);
                }
                publish(answered);
            });
        }
        publish(transitions);
    }

    private void publish(List<Transition> transitions) {
        for (Transition t : transitions) {
            health.put(t.node(), t.to());
            if (t.to() == Health.DOWN) {
                LOG.warnf("node %s is DOWN (%d probes failed in a row)", t.node(), config.failureThreshold());
            } else if (t.to() == Health.UP && t.from() == Health.DOWN) {
                LOG.infof("node %s is UP again", t.node());
            }
            for (Consumer<Transition> listener : listeners) {
                listener.accept(t);
            }
        }
    }
}
