package dev.qache.admin.router;

import dev.qache.admin.auth.AdminToken;
import jakarta.enterprise.inject.spi.CDI;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.eclipse.microprofile.rest.client.annotation.ClientHeaderParam;

/**
 * The router's admin API. {@link Router} reads every response, error statuses included, so a
 * refusal such as 409 or 422 reaches the page with the router's own words. {@link Router} builds
 * one client per router URL (timeouts and TLS from {@code quarkus.rest-client.router.*}) and adds
 * the failover between them and the circuit breaker.
 */
@Path("/admin")
@Produces(MediaType.APPLICATION_JSON)
@ClientHeaderParam(name = "Authorization", value = "{bearer}")
public interface RouterApi {

    default String bearer() {
        return CDI.current().select(AdminToken.class).get().authorization();
    }

    @GET
    @Path("/cluster")
    Response cluster();

    @GET
    @Path("/migrations")
    Response migrations();

    @POST
    @Path("/shards")
    @Consumes(MediaType.APPLICATION_JSON)
    Response addShard(AdminViews.AddShard body);

    @POST
    @Path("/shards/{id}/replicas")
    @Consumes(MediaType.APPLICATION_JSON)
    Response addReplica(@PathParam("id") String shard, AdminViews.AddReplica body);

    @POST
    @Path("/shards/{id}/promote")
    @Consumes(MediaType.APPLICATION_JSON)
    Response promote(@PathParam("id") String shard, AdminViews.Promote body);

    @DELETE
    @Path("/shards/{id}")
    Response removeShard(@PathParam("id") String shard);

    @DELETE
    @Path("/shards/{id}/replicas/{address}")
    Response removeReplica(@PathParam("id") String shard, @PathParam("address") String address);
}
