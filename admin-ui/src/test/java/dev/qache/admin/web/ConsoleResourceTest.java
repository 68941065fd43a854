package dev.qache.admin.web;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.delete;
import static com.github.tomakehurst.wiremock.client.WireMock.deleteRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.equalToJson;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;

import com.github.tomakehurst.wiremock.http.Fault;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every page and action of the console against a stubbed router admin API. */
@QuarkusTest
@QuarkusTestResource(StubRouter.class)
class ConsoleResourceTest {

    static final String CLUSTER = """
            {"epoch": 7,
             "shards": [
               {"id": "s1", "slots": 5462, "nodes": [
                  {"address": "127.0.0.1:7001", "role": "primary", "health": "up", "reportedRole": "primary",
                   "offset": 1200, "keys": 1000, "memoryUsedBytes": 1048576, "memoryLimitBytes": 4194304,
                   "hits": 300, "misses": 100, "epoch": 7},
                  {"address": "127.0.0.1:7002", "role": "replica", "health": "suspect", "offset": 1100,
                   "lagBytes": 100, "link": "streaming", "keys": 990, "epoch": 7}],
                "lastFailover": {"at": "2026-11-28T10:00:00Z", "from": "127.0.0.1:7009", "to": "127.0.0.1:7001",
                   "epoch": 5, "reason": "primary down"}},
               {"id": "s2", "slots": 5461, "nodes": [
                  {"address": "127.0.0.1:7003", "role": "primary", "health": "up", "keys": 5, "epoch": 7},
                  {"address": "127.0.0.1:7004", "role": "replica", "health": "up", "link": "syncing", "epoch": 7}],
                "handoff": {"shard": "s2", "from": "127.0.0.1:7003", "to": "127.0.0.1:7004",
                   "at": "2026-12-02T15:00:00Z"}},
               {"id": "s3", "slots": 5461, "nodes": [
                  {"address": "127.0.0.1:7005", "role": "primary", "health": "down"}],
                "writesUnavailable": "its primary 127.0.0.1:7005 is down and it has no replica"}],
             "slots": [{"from": 0, "to": 5461, "shard": "s1"}, {"from": 5462, "to": 10922, "shard": "s2"},
                       {"from": 10923, "to": 16383, "shard": "s3"}],
             "moving": [{"from": 100, "to": 199, "shard": "s2"}]}
            """;

    static final String MIGRATIONS = """
            {"migrations": [{"id": "m8", "state": "streaming", "slotsDone": 25, "slotsTotal": 100,
              "keysCopied": 500, "bytesCopied": 2097152, "bytesPerSecond": 1048576, "etaSeconds": 6, "reason": null}]}
            """;

    static final String MAP = """
            {"epoch": 8, "shards": [{"id": "s1", "primary": "127.0.0.1:7002", "replicas": ["127.0.0.1:7001"]},
              {"id": "s4", "primary": "127.0.0.1:7007", "replicas": []}], "slots": [], "moving": []}
            """;

    @BeforeEach
    void stubs() {
        StubRouter.server.resetAll();
        StubRouter.server.stubFor(get("/admin/cluster").willReturn(okJson(CLUSTER)));
        StubRouter.server.stubFor(get("/admin/migrations").willReturn(okJson(MIGRATIONS)));
        // A test that took the router away may have left the circuit breaker open: wait it out.
        String session = signIn();
        Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(given().cookie(Sessions.COOKIE, session)
                                .get("/live")
                                .asString())
                        .contains("slots 25 of 100"));
        StubRouter.server.resetRequests();
    }

    /** Signs in and returns the session cookie. */
    static String signIn() {
        return given().redirects()
                .follow(false)
                .formParam("token", StubRouter.TOKEN)
                .post("/signin")
                .then()
                .statusCode(303)
                .extract()
                .cookie(Sessions.COOKIE);
    }

    static String csrfOf(String html) {
        Matcher m = Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"").matcher(html);
        assertThat(m.find()).as("a form with the anti-forgery token").isTrue();
        return m.group(1);
    }

    static String csrf(String session) {
        return csrfOf(given().cookie(Sessions.COOKIE, session).get("/").asString());
    }

    @Test
    void withoutSignIn_everyPageAndActionIsRefused_andTheRouterIsNotAsked() {
        given().redirects().follow(false).get("/").then().statusCode(303).header("Location", containsString("/signin"));
        given().header("HX-Request", "true").get("/live").then().statusCode(401).header("HX-Redirect", "/signin");
        given().redirects()
                .follow(false)
                .formParam("address", "127.0.0.1:7007")
                .formParam("as", "shard")
                .formParam("confirmed", "yes")
                .post("/actions/add-node")
                .then()
                .statusCode(303);
        given().redirects()
                .follow(false)
                .cookie(Sessions.COOKIE, "made-up")
                .get("/")
                .then()
                .statusCode(303);
        StubRouter.server.verify(0, anyRequestedFor(anyUrl()));
    }

    @Test
    void signIn_withTheWrongToken_is401WithAMessage_withTheRightOne_setsAStrictHttpOnlyCookie() {
        given().formParam("token", "guess")
                .post("/signin")
                .then()
                .statusCode(401)
                .body(containsString("Sign-in failed."))
                .body(org.hamcrest.Matchers.not(containsString("guess")));
        String setCookie = given().redirects()
                .follow(false)
                .formParam("token", StubRouter.TOKEN)
                .post("/signin")
                .then()
                .statusCode(303)
                .header("Location", containsString("/"))
                .extract()
                .header("Set-Cookie");
        assertThat(setCookie).contains("HttpOnly").containsIgnoringCase("SameSite=Strict");
        assertThat(setCookie).doesNotContain(StubRouter.TOKEN);
    }

    @Test
    void dashboard_showsTheRingShardHealthAndMigrationProgress() {
        String session = signIn();
        String html = given().cookie(Sessions.COOKIE, session)
                .get("/")
                .then()
                .statusCode(200)
                .contentType(containsString("text/html"))
                .extract()
                .asString();

        // The ring: one owner arc per range, coloured per shard, and the moving band.
        assertThat(html).contains("<svg class=\"ring\"");
        assertThat(count(html, "class=\"slot-range owned\"")).isEqualTo(3);
        assertThat(html).contains("class=\"slot-range moving\" data-shard=\"s2\"");
        assertThat(html).contains("slots 100–199 (100) moving to shard s2");
        assertThat(html).contains("epoch 7");
        // Health: states, hit rate, memory, lag, last failover.
        assertThat(html).contains("<span class=\"state suspect\">suspect</span>");
        assertThat(html).contains("<span class=\"state syncing\">syncing</span>");
        assertThat(html).contains("<span class=\"state down\">down</span>");
        assertThat(html).contains("75.0%");
        assertThat(html).contains("1.00 MiB of 4.00 MiB");
        assertThat(html).contains("100 B");
        assertThat(html).contains("127.0.0.1:7001 replaced 127.0.0.1:7009 (epoch 5, primary down)");
        // A graceful promotion under way says who hands over to whom, and that writes wait.
        assertThat(html)
                .contains("<strong>Promotion under way:</strong> since 2026-12-02T15:00:00Z, 127.0.0.1:7003"
                        + " hands over to 127.0.0.1:7004");
        // A shard that takes no writes says so, and why.
        assertThat(html)
                .contains("<tr class=\"unavailable\"><td colspan=\"9\"><strong>Takes no writes:</strong>"
                        + " its primary 127.0.0.1:7005 is down and it has no replica");
        // The migration: slots and bytes, rate, ETA.
        assertThat(html).contains("slots 25 of 100");
        assertThat(html).contains("2.00 MiB of about 8.00 MiB");
        assertThat(html).contains("rate 1.00 MiB/s");
        assertThat(html).contains("ETA 6 s");
        // Something is moving: the live part refreshes every second.
        assertThat(html).contains("hx-trigger=\"every 1s\"");
        // The promotion form offers the replicas.
        assertThat(html).contains("value=\"s1|127.0.0.1:7002\"");
    }

    @Test
    void theLiveFragment_isTheRefreshablePartOnly() {
        String session = signIn();
        String html = given().cookie(Sessions.COOKIE, session)
                .header("HX-Request", "true")
                .get("/live")
                .then()
                .statusCode(200)
                .extract()
                .asString();
        assertThat(html.strip()).startsWith("<section id=\"live\"");
        assertThat(html).contains("slots 25 of 100").doesNotContain("<html").doesNotContain("add-node");
    }

    @Test
    void addNode_asksForConfirmation_thenActs_andShowsTheOutcome() {
        String session = signIn();
        String csrf = csrf(session);
        StubRouter.server.stubFor(post("/admin/shards")
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody(MAP)));

        String confirm = given().cookie(Sessions.COOKIE, session)
                .formParam("csrf", csrf)
                .formParam("address", " 127.0.0.1:7007 ")
                .formParam("as", "shard")
                .post("/actions/add-node")
                .then()
                .statusCode(200)
                .body(containsString("Add 127.0.0.1:7007 as a new shard?"))
                .extract()
                .asString();
        StubRouter.server.verify(0, postRequestedFor(urlEqualTo("/admin/shards")));

        given().redirects()
                .follow(false)
                .cookie(Sessions.COOKIE, session)
                .formParam("csrf", csrfOf(confirm))
                .formParam("address", "127.0.0.1:7007")
                .formParam("as", "shard")
                .formParam("shard", "")
                .formParam("confirmed", "yes")
                .post("/actions/add-node")
                .then()
                .statusCode(303);
        StubRouter.server.verify(
                1,
                postRequestedFor(urlEqualTo("/admin/shards"))
                        .withHeader("Authorization", equalTo("Bearer " + StubRouter.TOKEN))
                        .withRequestBody(equalToJson("{\"primary\":\"127.0.0.1:7007\",\"replicas\":[]}", true, true)));

        String page = given().cookie(Sessions.COOKIE, session).get("/").asString();
        assertThat(page).contains("Shard s4 with primary 127.0.0.1:7007 joined at epoch 8");
        assertThat(given().cookie(Sessions.COOKIE, session).get("/").asString())
                .as("the message is shown once")
                .doesNotContain("joined at epoch 8");
    }

    @Test
    void addNode_asAReplica_sendsItToTheShard() {
        String session = signIn();
        StubRouter.server.stubFor(post("/admin/shards/s2/replicas")
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody(MAP)));
        given().redirects()
                .follow(false)
                .cookie(Sessions.COOKIE, session)
                .formParam("csrf", csrf(session))
                .formParam("address", "127.0.0.1:7008")
                .formParam("as", "replica")
                .formParam("shard", "s2")
                .formParam("confirmed", "yes")
                .post("/actions/add-node")
                .then()
                .statusCode(303);
        StubRouter.server.verify(
                1,
                postRequestedFor(urlEqualTo("/admin/shards/s2/replicas"))
                        .withRequestBody(equalToJson("{\"address\":\"127.0.0.1:7008\"}")));
        assertThat(given().cookie(Sessions.COOKIE, session).get("/").asString())
                .contains("127.0.0.1:7008 is now a replica of shard s2");
    }

    @Test
    void badInput_getsA400WithAClearMessage_andNothingReachesTheRouter() {
        String session = signIn();
        String csrf = csrf(session);
        for (String[] bad : new String[][] {
            {"localhost", "shard", "", "\"localhost\" is not host:port"},
            {"127.0.0.1:99999", "shard", "", "The port must be 1 to 65535; got 99999."},
            {"<script>:1", "shard", "", "is not host:port"},
            {"127.0.0.1:7007", "sideways", "", "Choose whether the node becomes a new shard or a replica."},
            {"127.0.0.1:7007", "replica", "", "Choose the shard the replica joins."},
        }) {
            given().cookie(Sessions.COOKIE, session)
                    .formParam("csrf", csrf)
                    .formParam("address", bad[0])
                    .formParam("as", bad[1])
                    .formParam("shard", bad[2])
                    .formParam("confirmed", "yes")
                    .post("/actions/add-node")
                    .then()
                    .statusCode(400)
                    .contentType(containsString("text/html"))
                    .body(containsString(bad[3].replace("\"", "&quot;")))
                    .body(not(containsString("<script>:1")))
                    .body(not(containsString("Exception")));
        }
        given().cookie(Sessions.COOKIE, session)
                .formParam("csrf", csrf)
                .formParam("target", "s1|nonsense")
                .formParam("confirmed", "yes")
                .post("/actions/promote")
                .then()
                .statusCode(400)
                .body(containsString("Choose a shard and the replica to promote."));
        given().cookie(Sessions.COOKIE, session)
                .formParam("csrf", csrf)
                .formParam("shard", "s1; rm -rf")
                .formParam("confirmed", "yes")
                .post("/actions/remove-shard")
                .then()
                .statusCode(400)
                .body(containsString("Choose the shard to remove."));
        StubRouter.server.verify(0, postRequestedFor(anyUrl()));
        StubRouter.server.verify(0, deleteRequestedFor(anyUrl()));
    }

    @Test
    void aRefusalByTheRouter_isShownInItsOwnWords() {
        String session = signIn();
        StubRouter.server.stubFor(post("/admin/shards")
                .willReturn(aResponse()
                        .withStatus(422)
                        .withHeader("Content-Type", "application/problem+json")
                        .withBody("{\"type\":\"urn:qache:problem:node-unreachable\",\"title\":\"Unprocessable"
                                + " Content\",\"status\":422,\"detail\":\"node 127.0.0.1:7009 does not answer\"}")));
        given().redirects()
                .follow(false)
                .cookie(Sessions.COOKIE, session)
                .formParam("csrf", csrf(session))
                .formParam("address", "127.0.0.1:7009")
                .formParam("as", "shard")
                .formParam("confirmed", "yes")
                .post("/actions/add-node")
                .then()
                .statusCode(303);
        assertThat(given().cookie(Sessions.COOKIE, session).get("/").asString())
                .contains("The router refused (422): node 127.0.0.1:7009 does not answer");
    }

    @Test
    void promote_namedOrBest_andRemoveShard_goToTheRouter() {
        String session = signIn();
        String csrf = csrf(session);
        StubRouter.server.stubFor(post("/admin/shards/s1/promote").willReturn(okJson(MAP)));
        StubRouter.server.stubFor(delete("/admin/shards/s3")
                .willReturn(aResponse()
                        .withStatus(202)
                        .withHeader("Content-Type", "application/json")
                        .withBody(MAP)));

        given().cookie(Sessions.COOKIE, session)
                .formParam("csrf", csrf)
                .formParam("target", "s1|127.0.0.1:7002")
                .post("/actions/promote")
                .then()
                .statusCode(200)
                .body(containsString("Promote 127.0.0.1:7002 to primary of shard s1?"));
        given().redirects()
                .follow(false)
                .cookie(Sessions.COOKIE, session)
                .formParam("csrf", csrf)
                .formParam("target", "s1|127.0.0.1:7002")
                .formParam("confirmed", "yes")
                .post("/actions/promote")
                .then()
                .statusCode(303);
        StubRouter.server.verify(
                1,
                postRequestedFor(urlEqualTo("/admin/shards/s1/promote"))
                        .withRequestBody(equalToJson("{\"replica\":\"127.0.0.1:7002\"}")));
        assertThat(given().cookie(Sessions.COOKIE, session).get("/").asString())
                .contains("Shard s1: 127.0.0.1:7002 is the primary now (epoch 8).");

        given().redirects()
                .follow(false)
                .cookie(Sessions.COOKIE, session)
                .formParam("csrf", csrf)
                .formParam("target", "s1|")
                .formParam("confirmed", "yes")
                .post("/actions/promote")
                .then()
                .statusCode(303);
        StubRouter.server.verify(
                1,
                postRequestedFor(urlEqualTo("/admin/shards/s1/promote"))
                        .withRequestBody(equalToJson("{\"replica\":null}")));

        given().redirects()
                .follow(false)
                .cookie(Sessions.COOKIE, session)
                .formParam("csrf", csrf)
                .formParam("shard", "s3")
                .formParam("confirmed", "yes")
                .post("/actions/remove-shard")
                .then()
                .statusCode(303);
        StubRouter.server.verify(1, deleteRequestedFor(urlEqualTo("/admin/shards/s3")));
        assertThat(given().cookie(Sessions.COOKIE, session).get("/").asString())
                .contains("Shard s3 is being drained onto the others");
    }

    @Test
    void removeReplica_asksFirst_thenGoesToTheRouter() {
        String session = signIn();
        String csrf = csrf(session);
        StubRouter.server.stubFor(
                delete("/admin/shards/s1/replicas/127.0.0.1:7002").willReturn(okJson(MAP)));
        assertThat(given().cookie(Sessions.COOKIE, session).get("/").asString())
                .contains("id=\"remove-replica\"")
                .contains("<option value=\"s1|127.0.0.1:7002\">s1: 127.0.0.1:7002</option>");

        given().cookie(Sessions.COOKIE, session)
                .formParam("csrf", csrf)
                .formParam("target", "s1|127.0.0.1:7002")
                .post("/actions/remove-replica")
                .then()
                .statusCode(200)
                .body(containsString("Remove 127.0.0.1:7002 from shard s1?"));
        StubRouter.server.verify(0, deleteRequestedFor(anyUrl()));
        given().cookie(Sessions.COOKIE, session)
                .formParam("csrf", csrf)
                .formParam("target", "s1|not an address")
                .formParam("confirmed", "yes")
                .post("/actions/remove-replica")
                .then()
                .statusCode(400)
                .body(containsString("Choose the replica to remove."));
        StubRouter.server.verify(0, deleteRequestedFor(anyUrl()));

        given().redirects()
                .follow(false)
                .cookie(Sessions.COOKIE, session)
                .formParam("csrf", csrf)
                .formParam("target", "s1|127.0.0.1:7002")
                .formParam("confirmed", "yes")
                .post("/actions/remove-replica")
                .then()
                .statusCode(303);
        StubRouter.server.verify(1, deleteRequestedFor(urlEqualTo("/admin/shards/s1/replicas/127.0.0.1:7002")));
        assertThat(given().cookie(Sessions.COOKIE, session).get("/").asString())
                .contains("127.0.0.1:7002 is no longer a replica of shard s1 (epoch 8)");
    }

    @Test
    void aFormWithoutThisSessionsToken_orFromAnotherSite_isRefused_andNothingIsSent() {
        String session = signIn();
        String csrf = csrf(session);
        given().cookie(Sessions.COOKIE, session)
                .formParam("shard", "s3")
                .formParam("confirmed", "yes")
                .post("/actions/remove-shard")
                .then()
                .statusCode(403);
        given().cookie(Sessions.COOKIE, session)
                .formParam("csrf", csrf(signIn()))
                .formParam("shard", "s3")
                .formParam("confirmed", "yes")
                .post("/actions/remove-shard")
                .then()
                .statusCode(403);
        given().cookie(Sessions.COOKIE, session)
                .header("Origin", "https://evil.example")
                .formParam("csrf", csrf)
                .formParam("shard", "s3")
                .formParam("confirmed", "yes")
                .post("/actions/remove-shard")
                .then()
                .statusCode(403);
        StubRouter.server.verify(0, deleteRequestedFor(anyUrl()));
    }

    @Test
    void theRouterDown_thePageSaysSo_andShowsTheClusterAgainWhenItAnswers() {
        String session = signIn();
        StubRouter.server.resetAll();
        StubRouter.server.stubFor(any(anyUrl()).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
        Response down = given().cookie(Sessions.COOKIE, session).get("/");
        assertThat(down.statusCode()).isEqualTo(200);
        assertThat(down.asString())
                .contains("The router is unreachable")
                .contains("hx-trigger=\"every 2s\"")
                .contains("id=\"add-node\"")
                .doesNotContain("Exception");
        // Actions say nothing was changed.
        given().redirects()
                .follow(false)
                .cookie(Sessions.COOKIE, session)
                .formParam("csrf", csrfOf(down.asString()))
                .formParam("shard", "s3")
                .formParam("confirmed", "yes")
                .post("/actions/remove-shard")
                .then()
                .statusCode(303);
        assertThat(given().cookie(Sessions.COOKIE, session).get("/").asString()).contains("Nothing was changed");

        stubs();
        Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(given().cookie(Sessions.COOKIE, session)
                                .get("/live")
                                .asString())
                        .contains("slots 25 of 100"));
    }

    @Test
    void theRouterRefusingTheConsolesToken_isSaidPlainly() {
        String session = signIn();
        StubRouter.server.stubFor(get("/admin/cluster")
                .willReturn(aResponse()
                        .withStatus(401)
                        .withHeader("Content-Type", "application/problem+json")
                        .withBody("{\"status\":401,\"detail\":\"the admin token is wrong\"}")));
        assertThat(given().cookie(Sessions.COOKIE, session).get("/live").asString())
                .contains("the router refused the console&#39;s admin token");
    }

    @Test
    void signOut_endsTheSession() {
        String session = signIn();
        given().redirects()
                .follow(false)
                .cookie(Sessions.COOKIE, session)
                .formParam("csrf", csrf(session))
                .post("/signout")
                .then()
                .statusCode(303)
                .header("Location", containsString("/signin"));
        given().redirects()
                .follow(false)
                .cookie(Sessions.COOKIE, session)
                .get("/")
                .then()
                .statusCode(303);
    }

    @Test
    void htmxAndTheStylesheetAreServed() {
        given().get("/webjars/htmx.org/dist/htmx.min.js").then().statusCode(200);
        given().get("/console.css").then().statusCode(200);
    }

    private static int count(String s, String part) {
        int n = 0;
        for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }
}
