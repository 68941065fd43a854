package dev.qache.admin.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.rest.client.reactive.QuarkusRestClientBuilder;
import io.quarkus.tls.TlsConfiguration;
import io.quarkus.tls.TlsConfigurationRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.ws.rs.ProcessingException;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.faulttolerance.CircuitBreaker;
import org.eclipse.microprofile.faulttolerance.Retry;
import org.eclipse.microprofile.faulttolerance.Timeout;
import org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException;
import org.eclipse.microprofile.faulttolerance.exceptions.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * The console's only way to the cluster: the routers' admin API behind a timeout and a circuit
 * breaker (SmallRye Fault Tolerance). {@code qache.router.url} lists one router or several (the
 * routers' Raft group): a call goes to the last one that answered, and on to the next when a
 * router cannot be reached (no connection, so nothing was sent) or answers {@code 503
 * not-leader} (a follower that cannot carry an admin write to the leader; nothing was done). A
 * read also moves on after any failure; an action whose outcome is unknown (sent, no answer) does
 * not, as sending it again may do it twice. Reads are retried once; actions never are (adding a shard
 * twice is not the same as once). Only calls the router did not answer count against the breaker:
 * an answer, even an error status, shows it is there. While the breaker is open the pages say the
 * router is unreachable without waiting on it, and a call after {@code delay} tries again.
 */
@ApplicationScoped
@Timeout(value = 15, unit = ChronoUnit.SECONDS) // actions; a forced promotion may wait 5 s for a replica
@CircuitBreaker(
        requestVolumeThreshold = 4,
        failureRatio = 0.5,
        delay = 2,
        delayUnit = ChronoUnit.SECONDS,
        skipOn = Router.Unavailable.class)
public class Router {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the dashboard shows: the cluster and the migrations, read together. */
    public record Snapshot(AdminViews.Cluster cluster, List<AdminViews.Migration> migrations) {}

    /** The outcome of an action: whether the router did it, its status, and words for the page. */
    public record Outcome(boolean ok, int status, String message) {}

    /** The router could not be asked, or did not answer as the admin API says. */
    public static final class Unavailable extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public Unavailable(String message) {
            super(message);
        }
    }

    /** One client per router URL, in the order configured. */
    private final List<RouterApi> apis;

    /** The router to ask first: the last one that answered. */
    private final java.util.concurrent.atomic.AtomicInteger preferred = new java.util.concurrent.atomic.AtomicInteger();

    Router(
            @ConfigProperty(name = "qache.router.url") List<URI> urls,
            @ConfigProperty(name = "quarkus.rest-client.router.connect-timeout", defaultValue = "1000")
                    long connectMillis,
            @ConfigProperty(name = "quarkus.rest-client.router.read-timeout", defaultValue = "15000") long readMillis,
            @ConfigProperty(name = "quarkus.rest-client.router.tls-configuration-name") Optional<String> tlsName,
            TlsConfigurationRegistry tls) {
        Optional<TlsConfiguration> trust = tlsName.map(name -> tls.get(name)
                .orElseThrow(() -> new IllegalArgumentException(
                        "quarkus.rest-client.router.tls-configuration-name names no TLS configuration: " + name)));
        List<RouterApi> clients = new ArrayList<>();
        for (URI url : urls) {
            QuarkusRestClientBuilder builder = QuarkusRestClientBuilder.newBuilder()
                    .baseUri(url)
                    .connectTimeout(connectMillis, TimeUnit.MILLISECONDS)
                    .readTimeout(readMillis, TimeUnit.MILLISECONDS);
            trust.ifPresent(builder::tlsConfiguration);
            clients.add(builder.build(RouterApi.class));
        }
        this.apis = List.copyOf(clients);
    }

    @Timeout(value = 3, unit = ChronoUnit.SECONDS)
    @Retry(maxRetries = 1, delay = 100, abortOn = Unavailable.class)
    public Snapshot snapshot() {
        AdminViews.Cluster cluster;
        try (Response response = read(RouterApi::cluster)) {
            cluster = read(response, "GET /admin/cluster", AdminViews.Cluster.class);
        }
        try (Response response = read(RouterApi::migrations)) {
            AdminViews.Migrations migrations = read(response, "GET /admin/migrations", AdminViews.Migrations.class);
            return new Snapshot(cluster, migrations.migrations() == null ? List.of() : migrations.migrations());
        }
    }

    public Outcome addShard(@Nullable String id, String primary, List<String> replicas) {
        try (Response response = act(api -> api.addShard(new AdminViews.AddShard(id, primary, replicas)))) {
            return outcome(
                    response,
                    map -> "Shard " + newShard(map, primary) + " with primary " + primary
                            + " joined at epoch " + map.path("epoch").asLong()
                            + "; its slots are being copied to it (see Migrations).");
        }
    }

    public Outcome addReplica(String shard, String address) {
        try (Response response = act(api -> api.addReplica(shard, new AdminViews.AddReplica(address)))) {
            return outcome(
                    response,
                    map -> address + " is now a replica of shard " + shard + " (epoch "
                            + map.path("epoch").asLong() + "); it does a full sync from the primary.");
        }
    }

    public Outcome promote(String shard, @Nullable String replica) {
        try (Response response = act(api -> api.promote(shard, new AdminViews.Promote(replica)))) {
            return outcome(response, map -> {
                for (JsonNode s : map.path("shards")) {
                    if (shard.equals(s.path("id").asText())) {
                        return "Shard " + shard + ": " + s.path("primary").asText() + " is the primary now (epoch "
                                + map.path("epoch").asLong() + ").";
                    }
                }
                return "Shard " + shard + " promoted a replica (epoch "
                        + map.path("epoch").asLong() + ").";
            });
        }
    }

    public Outcome removeReplica(String shard, String address) {
        try (Response response = act(api -> api.removeReplica(shard, address))) {
            return outcome(
                    response,
                    map -> address + " is no longer a replica of shard " + shard + " (epoch "
                            + map.path("epoch").asLong() + "); if it still runs, it drops what it held.");
        }
    }

    public Outcome removeShard(String shard) {
        try (Response response = act(api -> api.removeShard(shard))) {
            return outcome(
                    response,
                    map -> "Shard " + shard + " is being drained onto the others (epoch "
                            + map.path("epoch").asLong() + "); it leaves the map when its slots are copied.");
        }
    }

    private Response read(Function<RouterApi, Response> request) {
        return call(request, false);
    }

    private Response act(Function<RouterApi, Response> request) {
        return call(request, true);
    }

    /**
     * A router's response, whatever its status (an error status is an answer, not a failure),
     * from the first router that gives one (see the class comment for when the next is asked).
     */
    private Response call(Function<RouterApi, Response> request, boolean action) {
        int first = preferred.get();
        RuntimeException failure = null;
        for (int i = 0; i < apis.size(); i++) {
            int at = (first + i) % apis.size();
            Response response;
            try {
                response = request.apply(apis.get(at));
            } catch (jakarta.ws.rs.WebApplicationException answered) {
                response = answered.getResponse();
            } catch (ProcessingException failed) {
                if (action && !neverSent(failed)) {
                    throw failed;
                }
                failure = failed;
                continue;
            }
            if (i < apis.size() - 1 && notLeader(response)) {
                response.close();
                continue;
            }
            preferred.set(at);
            return response;
        }
        throw failure != null ? failure : new Unavailable("no router answered");
    }

    /** Whether the call failed before a connection was made: nothing reached the router. */
    private static boolean neverSent(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause() == cause ? null : cause.getCause()) {
            if (cause instanceof java.net.ConnectException) {
                return true;
            }
        }
        return false;
    }

    /** A 503 {@code not-leader}: a follower that did nothing with the request. */
    private static boolean notLeader(Response response) {
        if (response.getStatus() != 503) {
            return false;
        }
        response.bufferEntity();
        String body = response.readEntity(String.class);
        return body != null && body.contains("urn:qache:problem:not-leader");
    }

    /** Why the router could not be asked, in words for the page. */
    public static String describe(Throwable failure) {
        if (failure instanceof CircuitBreakerOpenException) {
            return "the router failed repeatedly, so the console stops asking it for 2 s at a time";
        }
        if (failure instanceof TimeoutException) {
            return "the router did not answer in time";
        }
        if (failure instanceof Unavailable) {
            return failure.getMessage();
        }
        Throwable cause = failure;
        while (cause.getCause() != null && cause != cause.getCause()) {
            cause = cause.getCause();
        }
        if (failure instanceof ProcessingException || cause instanceof java.net.ConnectException) {
            return "no router can be reached ("
                    + (cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage()) + ")";
        }
        return "the router call failed (" + cause + ")";
    }

    private static <T> T read(Response response, String call, Class<T> type) {
        if (response.getStatus() != 200) {
            String detail = detail(response);
            throw new Unavailable(
                    response.getStatus() == 401
                            ? "the router refused the console's admin token (qache.admin.token differs): " + detail
                            : call + " answered " + response.getStatus() + ": " + detail);
        }
        try {
            return JSON.readValue(response.readEntity(String.class), type);
        } catch (java.io.IOException e) {
            throw new Unavailable(call + " answered something this console cannot read: " + e.getMessage());
        }
    }

    private static Outcome outcome(Response response, java.util.function.Function<JsonNode, String> success) {
        int status = response.getStatus();
        if (status >= 200 && status < 300) {
            JsonNode map;
            try {
                map = JSON.readTree(response.readEntity(String.class));
            } catch (java.io.IOException e) {
                map = JSON.createObjectNode();
            }
            return new Outcome(true, status, success.apply(map));
        }
        if (status >= 500 && status != 503) {
            // A server error counts against the breaker; refusals (4xx, and 503 for a promotion
            // whose replica did not catch up) are answers and are shown as they are.
            throw new Unavailable("the router answered " + status + ": " + detail(response));
        }
        return new Outcome(false, status, "The router refused (" + status + "): " + detail(response));
    }

    private static String detail(Response response) {
        try {
            String body = response.readEntity(String.class);
            if (body == null || body.isBlank()) {
                return "no details";
            }
            AdminViews.Problem problem = JSON.readValue(body, AdminViews.Problem.class);
            return problem.detail() != null ? problem.detail() : body;
        } catch (Exception e) {
            return "no details";
        }
    }

    private static String newShard(JsonNode map, String primary) {
        for (JsonNode s : map.path("shards")) {
            if (primary.equals(s.path("primary").asText())) {
                return s.path("id").asText();
            }
        }
        return "?";
    }
}
