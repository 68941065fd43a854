package dev.qache.admin.web;

import dev.qache.admin.router.Router;
import io.quarkus.qute.CheckedTemplate;
import io.quarkus.qute.TemplateInstance;
import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.CookieParam;
import jakarta.ws.rs.FormParam;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.NewCookie;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;
import org.jspecify.annotations.Nullable;

/**
 * The console's pages and actions. Reads go through {@link Router#snapshot()}; every action is a
 * form posted twice: first it is checked and a confirmation page shows what will happen, then,
 * confirmed, it is sent to the router and the outcome is shown on the dashboard (post, redirect,
 * get). Bad input gets a 400 page that says what is wrong; nothing reaches the router.
 */
@Path("/")
@Produces(MediaType.TEXT_HTML)
public class ConsoleResource {

    private static final Logger LOG = Logger.getLogger(ConsoleResource.class);
    private static final Pattern HOST_PORT = Pattern.compile("^[A-Za-z0-9.\\-]{1,253}:([0-9]{1,5})$");
    private static final Pattern SHARD_ID = Pattern.compile("^[A-Za-z0-9_\\-]{1,64}$");

    @CheckedTemplate
    static class Templates {
        static native TemplateInstance signin(@Nullable String error);

        static native TemplateInstance dashboard(
                Dashboard view, Sessions.@Nullable Flash flash, String csrf, String routerUrl);

        static native TemplateInstance dashboard$live(Dashboard view);

        static native TemplateInstance confirm(
                String title, String question, String action, List<Field> fields, String csrf);
    }

    /** A hidden form field carried from the form to its confirmation. */
    public record Field(String name, String value) {}

    private final Router router;
    private final Sessions sessions;
    private final String routerUrl;
    private final boolean secureCookie;
    private final SignInLimiter limiter;

    ConsoleResource(
            Router router,
            Sessions sessions,
            @ConfigProperty(name = "qache.router.url") String routerUrl,
            @ConfigProperty(name = "qache.admin-ui.secure-cookie", defaultValue = "false") boolean secureCookie,
            @ConfigProperty(name = "qache.admin-ui.signin-burst", defaultValue = "5") int signinBurst,
            @ConfigProperty(name = "qache.admin-ui.signin-refill", defaultValue = "10s") Duration signinRefill) {
        this.limiter = new SignInLimiter(signinBurst, signinRefill.toNanos(), 10_000);
        this.router = router;
        this.sessions = sessions;
        this.routerUrl = routerUrl;
        this.secureCookie = secureCookie;
    }

    @GET
    @Path("signin")
    public TemplateInstance signinPage() {
        return Templates.signin(null);
    }

    @POST
    @Path("signin")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response signin(@FormParam("token") @Nullable String token, @Context HttpServerRequest request) {
        String address = request.remoteAddress() == null
                ? "unknown"
                : request.remoteAddress().hostAddress();
        SignInLimiter.Decision decision = limiter.tryAcquire(address, System.nanoTime());
        if (!decision.allowed()) {
            LOG.infof("console sign-in refused: too many attempts from %s", address);
            return Response.status(429)
                    .header(HttpHeaders.RETRY_AFTER, decision.retryAfterSeconds())
                    .entity(Templates.signin("Too many sign-in attempts from your address: try again in "
                            + decision.retryAfterSeconds() + " s."))
                    .build();
        }
        if (!sessions.tokenMatches(token)) {
            // Nothing about the token: not its length, not how close the guess was.
            LOG.infof("console sign-in refused from %s", address);
            return Response.status(401)
                    .entity(Templates.signin("Sign-in failed."))
                    .build();
        }
        Sessions.Session session = sessions.open();
        NewCookie cookie = new NewCookie.Builder(Sessions.COOKIE)
                .value(session.id)
                .path("/")
                .httpOnly(true)
                .secure(secureCookie)
                .sameSite(NewCookie.SameSite.STRICT)
                .build();
        return Response.seeOther(URI.create("/")).cookie(cookie).build();
    }

    @POST
    @Path("signout")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response signout(
            @CookieParam(Sessions.COOKIE) @Nullable String cookie, @FormParam("csrf") @Nullable String csrf) {
        Sessions.Session session = session(cookie);
        if (!Sessions.csrfMatches(session, csrf)) {
            return forged();
        }
        sessions.close(session);
        NewCookie gone = new NewCookie.Builder(Sessions.COOKIE)
                .value("")
                .path("/")
                .maxAge(0)
                .httpOnly(true)
                .build();
        return Response.seeOther(URI.create("/signin")).cookie(gone).build();
    }

    @GET
    public TemplateInstance dashboard(@CookieParam(Sessions.COOKIE) @Nullable String cookie) {
        Sessions.Session session = session(cookie);
        return Templates.dashboard(view(), session.takeFlash(), session.csrf(), routerUrl);
    }

    /** The part of the dashboard that htmx refreshes: ring, shards and migrations. */
    @GET
    @Path("live")
    public TemplateInstance live() {
        return Templates.dashboard$live(view());
    }

    private Dashboard view() {
        try {
            return Dashboard.of(router.snapshot());
        } catch (RuntimeException e) {
            return Dashboard.unavailable(Router.describe(e));
        }
    }

    @POST
    @Path("actions/add-node")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response addNode(
            @CookieParam(Sessions.COOKIE) @Nullable String cookie,
            @FormParam("csrf") @Nullable String csrf,
            @FormParam("address") @Nullable String address,
            @FormParam("as") @Nullable String as,
            @FormParam("shard") @Nullable String shard,
            @FormParam("confirmed") @Nullable String confirmed) {
        Sessions.Session session = session(cookie);
        if (!Sessions.csrfMatches(session, csrf)) {
            return forged();
        }
        String addr = address == null ? "" : address.strip();
        String error = checkAddress(addr);
        boolean asReplica = "replica".equals(as);
        if (error == null && !asReplica && !"shard".equals(as)) {
            error = "Choose whether the node becomes a new shard or a replica.";
        }
        if (error == null
                && asReplica
                && (shard == null || !SHARD_ID.matcher(shard).matches())) {
            error = "Choose the shard the replica joins.";
        }
        if (error != null) {
            return badInput(session, error);
        }
        if (!"yes".equals(confirmed)) {
            return confirm(
                    session,
                    "Add a node",
                    asReplica
                            ? "Add " + addr + " as a replica of shard " + shard + "? It copies the shard's data"
                                    + " from the primary (a full sync)."
                            : "Add " + addr + " as a new shard? The router moves about 1/(shards + 1) of the"
                                    + " slots to it while the cluster keeps serving.",
                    "/actions/add-node",
                    List.of(
                            new Field("address", addr),
                            new Field("as", as),
                            new Field("shard", shard == null ? "" : shard)));
        }
        return act(session, () -> asReplica ? router.addReplica(shard, addr) : router.addShard(null, addr, List.of()));
    }

    /** A form's {@code target}: "shard|replica", or "shard|" for no replica named; null when malformed. */
    record ShardReplica(String shard, @Nullable String replica) {
        static @Nullable ShardReplica parse(@Nullable String target) {
            String[] parts = target == null ? new String[0] : target.split("\\|", -1);
            if (parts.length != 2
                    || !SHARD_ID.matcher(parts[0]).matches()
                    || (!parts[1].isEmpty() && checkAddress(parts[1]) != null)) {
                return null;
            }
            return new ShardReplica(parts[0], parts[1].isEmpty() ? null : parts[1]);
        }
    }

    @POST
    @Path("actions/promote")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response promote(
            @CookieParam(Sessions.COOKIE) @Nullable String cookie,
            @FormParam("csrf") @Nullable String csrf,
            @FormParam("target") @Nullable String target,
            @FormParam("confirmed") @Nullable String confirmed) {
        Sessions.Session session = session(cookie);
        if (!Sessions.csrfMatches(session, csrf)) {
            return forged();
        }
        // "shard|replica", or "shard|" for the replica the router finds best.
        ShardReplica chosen = ShardReplica.parse(target);
        if (chosen == null) {
            return badInput(session, "Choose a shard and the replica to promote.");
        }
        String shard = chosen.shard();
        String replica = chosen.replica();
        if (!"yes".equals(confirmed)) {
            return confirm(
                    session,
                    "Force a promotion",
                    "Promote " + (replica == null ? "the most up-to-date replica" : replica) + " to primary of shard "
                            + shard + "? Writes to the shard pause until the replica has caught up, so none is"
                            + " lost; the old primary becomes a replica.",
                    "/actions/promote",
                    List.of(new Field("target", target)));
        }
        return act(session, () -> router.promote(shard, replica));
    }

    @POST
    @Path("actions/remove-replica")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response removeReplica(
            @CookieParam(Sessions.COOKIE) @Nullable String cookie,
            @FormParam("csrf") @Nullable String csrf,
            @FormParam("target") @Nullable String target,
            @FormParam("confirmed") @Nullable String confirmed) {
        Sessions.Session session = session(cookie);
        if (!Sessions.csrfMatches(session, csrf)) {
            return forged();
        }
        ShardReplica chosen = ShardReplica.parse(target);
        if (chosen == null || chosen.replica() == null) {
            return badInput(session, "Choose the replica to remove.");
        }
        String shard = chosen.shard();
        String replica = chosen.replica();
        if (!"yes".equals(confirmed)) {
            return confirm(
                    session,
                    "Remove a replica",
                    "Remove " + replica + " from shard " + shard + "? It is no longer probed or promoted, and"
                            + " if it still runs it drops its copy. The shard keeps its primary"
                            + " and its other replicas.",
                    "/actions/remove-replica",
                    List.of(new Field("target", target)));
        }
        return act(session, () -> router.removeReplica(shard, replica));
    }

    @POST
    @Path("actions/remove-shard")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response removeShard(
            @CookieParam(Sessions.COOKIE) @Nullable String cookie,
            @FormParam("csrf") @Nullable String csrf,
            @FormParam("shard") @Nullable String shard,
            @FormParam("confirmed") @Nullable String confirmed) {
        Sessions.Session session = session(cookie);
        if (!Sessions.csrfMatches(session, csrf)) {
            return forged();
        }
        if (shard == null || !SHARD_ID.matcher(shard).matches()) {
            return badInput(session, "Choose the shard to remove.");
        }
        if (!"yes".equals(confirmed)) {
            return confirm(
                    session,
                    "Remove a shard",
                    "Remove shard " + shard + "? Its slots are copied to the other shards while the cluster keeps"
                            + " serving; then it leaves the map and its nodes drop their data.",
                    "/actions/remove-shard",
                    List.of(new Field("shard", shard)));
        }
        return act(session, () -> router.removeShard(shard));
    }

    /** Null when {@code address} is host:port with a port from 1 to 65535, else what is wrong. */
    static @Nullable String checkAddress(String address) {
        var m = HOST_PORT.matcher(address);
        if (!m.matches()) {
            return "\"" + shorten(address) + "\" is not host:port (for example 127.0.0.1:7007).";
        }
        int port = Integer.parseInt(m.group(1));
        if (port < 1 || port > 65535) {
            return "The port must be 1 to 65535; got " + port + ".";
        }
        return null;
    }

    private static String shorten(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "…" : s;
    }

    private Response act(Sessions.Session session, java.util.function.Supplier<Router.Outcome> call) {
        Sessions.Flash flash;
        try {
            Router.Outcome outcome = call.get();
            flash = new Sessions.Flash(outcome.ok(), outcome.message());
            LOG.infof("console action: %s", outcome.message());
        } catch (RuntimeException e) {
            flash = new Sessions.Flash(false, "Nothing was changed: " + Router.describe(e) + ".");
        }
        session.flash(flash);
        return Response.seeOther(URI.create("/")).build();
    }

    private Response confirm(
            Sessions.Session session, String title, String question, String action, List<Field> fields) {
        return Response.ok(Templates.confirm(title, question, action, fields, session.csrf()))
                .build();
    }

    private Response badInput(Sessions.Session session, String error) {
        return Response.status(400)
                .entity(Templates.dashboard(view(), new Sessions.Flash(false, error), session.csrf(), routerUrl))
                .build();
    }

    private static Response forged() {
        return Response.status(403)
                .type(MediaType.TEXT_PLAIN)
                .entity("This form is not from this session (it expired, or another site sent it). Reload the"
                        + " page and try again.")
                .build();
    }

    /** The session {@link SignedIn} let through; gone only if it expired in between. */
    private Sessions.Session session(@Nullable String cookie) {
        Sessions.Session session = sessions.find(cookie);
        if (session == null) {
            throw new jakarta.ws.rs.WebApplicationException(
                    Response.seeOther(URI.create("/signin")).build());
        }
        return session;
    }
}
