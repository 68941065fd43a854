package dev.qache.admin.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.ws.rs.ProcessingException;
import jakarta.ws.rs.core.Response;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.eclipse.microprofile.faulttolerance.CircuitBreaker;
import org.eclipse.microprofile.faulttolerance.Retry;
import org.eclipse.microprofile.faulttolerance.Timeout;
import org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException;
import org.eclipse.microprofile.faulttolerance.exceptions.TimeoutException;
import org.eclipse.microprofile.rest.client.inject.RestClient;
import org.jspecify.annotations.Nullable;

/**
 * The console's only way to the cluster: the router's admin API behind a timeout and a circuit
 * breaker (SmallRye Fault Tolerance). Reads are retried once; actions never are (adding a shard
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

    private final RouterApi api;

    Router(@RestClient RouterApi api) {
        this.api = api;
    }

    @Timeout(value = 3, unit = ChronoUnit.SECONDS)
    @Retry(maxRetries = 1, delay = 100, abortOn = Unavailable.class)
    public Snapshot snapshot() {
        AdminViews.Cluster cluster;
        try (Response response = call(api::cluster)) {
            cluster = read(response, "GET /admin/cluster", AdminViews.Cluster.class);
        }
        try (Response response = call(api::migrations)) {
            AdminViews.Migrations migrations = read(response, "GET /admin/migrations", AdminViews.Migrations.class);
            return new Snapshot(cluster, migrations.migrations() == null ? List.of() : migrations.migrations());
        }
    }

    public Outcome addShard(@Nullable String id, String primary, List<String> replicas) {
        try (Response response = call(() -> api.addShard(new AdminViews.AddShard(id, primary, replicas)))) {
            return outcome(
                    response,
                    map -> "Shard " + newShard(map, primary) + " with primary " + primary
                            + " joined at epoch " + map.path("epoch").asLong()
                            + "; its slots are being copied to it (see Migrations).");
        }
    }

    public Outcome addReplica(String shard, String address) {
        try (Response response = call(() -> api.addReplica(shard, new AdminViews.AddReplica(address)))) {
            return outcome(
                    response,
                    map -> address + " is now a replica of shard " + shard + " (epoch "
                            + map.path("epoch").asLong() + "); it does a full sync from the primary.");
        }
    }

    public Outcome promote(String shard, @Nullable String replica) {
        try (Response response = call(() -> api.promote(shard, new AdminViews.Promote(replica)))) {
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

    public Outcome removeShard(String shard) {
        try (Response response = call(() -> api.removeShard(shard))) {
            return outcome(
                    response,
                    map -> "Shard " + shard + " is being drained onto the others (epoch "
                            + map.path("epoch").asLong() + "); it leaves the map when its slots are copied.");
        }
    }

    /** The router's response, whatever its status: an error status is an answer, not a failure. */
    private static Response call(java.util.function.Supplier<Response> request) {
        try {
            return request.get();
        } catch (jakarta.ws.rs.WebApplicationException answered) {
            return answered.getResponse();
        }
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
            return "the router cannot be reached ("
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
