package dev.qache.node.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.emptyString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;

import dev.qache.protocol.testing.RawHttp;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.response.ValidatableResponse;
import io.restassured.specification.RequestSpecification;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The data API of DESIGN.md, status by status, against a running node (max value size 1 KiB). */
@QuarkusTest
class DataApiResourceTest {

    private static final int MAX_VALUE = 1024;
    private static final String PROBLEM_JSON = "application/problem+json";

    /** Requests whose paths are sent exactly as written (keys are percent-encoded by the tests). */
    private static RequestSpecification raw() {
        return given().urlEncodingEnabled(false);
    }

    private static String freshKey() {
        return "key-" + UUID.randomUUID();
    }

    private static ValidatableResponse post(String rawKey, String body) {
        return raw().contentType("application/json")
                .body(body.getBytes(StandardCharsets.UTF_8))
                .post("/" + rawKey)
                .then();
    }

    private static ValidatableResponse get(String rawKey) {
        return raw().get("/" + rawKey).then();
    }

    private static void assertProblem(ValidatableResponse response, int status, String slug) {
        response.statusCode(status)
                .contentType(PROBLEM_JSON)
                .body("status", equalTo(status))
                .body("type", equalTo("urn:qache:problem:" + slug))
                .body("title", is(org.hamcrest.Matchers.notNullValue()))
                .body("detail", is(org.hamcrest.Matchers.not(emptyString())));
    }

    /** A rejected write must leave the key exactly as it was: here, holding "original". */
    private static String keyHoldingOriginal() {
        String key = freshKey();
        post(key, "{\"value\":\"original\"}").statusCode(204);
        return key;
    }

    private static void assertStillOriginal(String key) {
        get(key).statusCode(200).body("value", equalTo("original"));
    }

    @Test
    void post_thenGet_returnsValueByteForByte() {
        String key = freshKey();
        String value = "{ \"b\" : [1, 2.50, 1e3, true, null],\n \"a\": \"\\u00e9t\u00e9 \\\"q\\\"\" }";

        post(key, "{\"value\": " + value + " }").statusCode(204).body(emptyString());

        String body = get(key).statusCode(200)
                .contentType("application/json")
                .extract()
                .asString();
        org.assertj.core.api.Assertions.assertThat(body)
                .isEqualTo("{\"key\":\"" + key + "\",\"value\":" + value + ",\"ttl\":null}");
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-1.5", "\"text\"", "null", "[]", "{}", "false", "123456789012345678901234567890"})
    void post_anyJsonValue_isStored(String value) {
        String key = freshKey();
        post(key, "{\"value\":" + value + "}").statusCode(204);
        org.assertj.core.api.Assertions.assertThat(
                        get(key).statusCode(200).extract().asString())
                .isEqualTo("{\"key\":\"" + key + "\",\"value\":" + value + ",\"ttl\":null}");
    }

    @Test
    void get_withTtl_reportsRemainingSeconds() {
        String key = freshKey();
        post(key, "{\"value\":1,\"ttl\":100}").statusCode(204);

        get(key).statusCode(200)
                .body(
                        "ttl",
                        org.hamcrest.Matchers.both(org.hamcrest.Matchers.lessThanOrEqualTo(100))
                                .and(org.hamcrest.Matchers.greaterThanOrEqualTo(99)));
    }

    @Test
    void post_overwrite_replacesValueAndTtl() {
        String key = freshKey();
        post(key, "{\"value\":1,\"ttl\":100}").statusCode(204);
        post(key, "{\"value\":2,\"ttl\":null}").statusCode(204);

        get(key).statusCode(200).body("value", equalTo(2)).body("ttl", nullValue());
    }

    @Test
    void get_missingKey_is404Problem() {
        assertProblem(get(freshKey()), 404, "not-found");
    }

    /**
     * A node before its first map (a shard just added) cannot vouch for a miss routed by a router
     * that has a map: the map making it a migration's target may still be on its way, and the
     * source holds the keys. The miss says so, so the router asks the source; a lone node's own
     * clients send no epoch and get a plain miss.
     */
    @Test
    void get_missBeforeTheFirstMap_sendsARouterToTheSource() {
        String key = "absent-" + UUID.randomUUID();
        given().header("Qache-Epoch", "2")
                .get("/" + key)
                .then()
                .statusCode(404)
                .contentType("application/problem+json")
                .header("Qache-Import", "pending");
        given().get("/" + key).then().statusCode(404).header("Qache-Import", nullValue());
    }

    @Test
    void delete_presentThenAbsent_is204Then404() {
        String key = keyHoldingOriginal();

        raw().delete("/" + key).then().statusCode(204).body(emptyString());
        assertProblem(raw().delete("/" + key).then(), 404, "not-found");
        assertProblem(get(key), 404, "not-found");
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(
            strings = {
                "{\"value\":",
                "{\"value\":1,}",
                "not json",
                "",
                "[1]",
                "\"value\"",
                "{\"value\":1}{\"value\":2}",
                "{\"value\":1,\"value\":2}",
                "{\"value\":1,\"tll\":5}",
                "{'value':1}"
            })
    void post_malformedBody_is400AndChangesNothing(String body) {
        String key = keyHoldingOriginal();
        assertProblem(post(key, body), 400, "malformed-body");
        assertStillOriginal(key);
    }

    @Test
    void post_missingValue_is400AndChangesNothing() {
        String key = keyHoldingOriginal();
        assertProblem(post(key, "{\"ttl\":5}"), 400, "missing-value");
        assertStillOriginal(key);
    }

    @ParameterizedTest(name = "[{index}] ttl {0}")
    @ValueSource(
            strings = {"0", "-1", "1.5", "1.0", "1e3", "\"10\"", "315360001", "99999999999999999999", "true", "{}"})
    void post_badTtl_is400AndChangesNothing(String ttl) {
        String key = keyHoldingOriginal();
        assertProblem(post(key, "{\"value\":\"new\",\"ttl\":" + ttl + "}"), 400, "bad-ttl");
        assertStillOriginal(key);
    }

    @Test
    void post_largestTtl_isAccepted() {
        String key = freshKey();
        post(key, "{\"value\":1,\"ttl\":315360000}").statusCode(204);
        get(key).statusCode(200).body("ttl", equalTo(315360000));
    }

    @Test
    void post_emptyKey_is400() {
        assertProblem(post("", "{\"value\":1}"), 400, "bad-key");
        assertProblem(get(""), 400, "bad-key");
    }

    @Test
    void post_keyOf250Bytes_isAcceptedAnd251Rejected() {
        String longest = "k".repeat(250);
        post(longest, "{\"value\":1}").statusCode(204);
        get(longest).statusCode(200).body("key", equalTo(longest));

        String tooLong = "k".repeat(251);
        assertProblem(post(tooLong, "{\"value\":1}"), 400, "bad-key");
        assertProblem(get(tooLong), 400, "bad-key");
    }

    @Test
    void keyLimit_countsUtf8BytesAfterPercentDecoding() {
        String e = "%C3%A9"; // é, two bytes
        post(e.repeat(125), "{\"value\":1}").statusCode(204);
        assertProblem(post(e.repeat(126), "{\"value\":1}"), 400, "bad-key");
    }

    @Test
    void percentEncodedSlash_isPartOfOneKey() {
        post("a%2Fb", "{\"value\":\"slash\"}").statusCode(204);

        get("a%2Fb").statusCode(200).body("key", equalTo("a/b")).body("value", equalTo("slash"));
        get("a").statusCode(404);
    }

    @Test
    void nonAsciiKey_roundTripsAsUtf8() {
        post("caf%C3%A9%20%E2%82%AC", "{\"value\":\"unicode\"}").statusCode(204);

        get("caf%C3%A9%20%E2%82%AC")
                .statusCode(200)
                .body("key", equalTo("café €"))
                .body("value", equalTo("unicode"));
        get("caf%C3%A9%20%e2%82%ac").statusCode(200).body("key", equalTo("café €"));
    }

    @Test
    void keyWithJsonSpecialCharacters_isEscapedInResponse() {
        post("q%22b%5Cs%09", "{\"value\":1}").statusCode(204);

        String body = get("q%22b%5Cs%09").statusCode(200).extract().asString();
        org.assertj.core.api.Assertions.assertThat(body).startsWith("{\"key\":\"q\\\"b\\\\s\\t\",");
    }

    @ParameterizedTest
    @ValueSource(strings = {"%FF", "%C3", "%C3%28"})
    void invalidUtf8Key_is400(String rawKey) {
        assertProblem(post(rawKey, "{\"value\":1}"), 400, "bad-key");
        assertProblem(get(rawKey), 400, "bad-key");
    }

    /**
     * HTTP clients refuse to send a broken percent-escape, so these go over a plain socket. Quarkus'
     * HTTP layer rejects such a request line with a bare 400 before any route runs (docs/API.md).
     */
    @ParameterizedTest
    @ValueSource(strings = {"a%", "a%2", "%ZZ", "%g0"})
    void brokenPercentEscape_is400(String rawKey) throws IOException {
        String response = RawHttp.exchange(
                RestAssured.port, "GET /" + rawKey + " HTTP/1.1\r\nHost: localhost\r\n" + "Connection: close\r\n\r\n");
        org.assertj.core.api.Assertions.assertThat(response).startsWith("HTTP/1.1 400");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {"text/plain", "application/xml", "application/json; charset=ISO-8859-1", "application/jsonx"})
    void post_wrongContentType_is415AndChangesNothing(String contentType) {
        String key = keyHoldingOriginal();
        assertProblem(
                raw().contentType(contentType)
                        .body("{\"value\":\"new\"}".getBytes(StandardCharsets.UTF_8))
                        .post("/" + key)
                        .then(),
                415,
                "unsupported-media-type");
        assertStillOriginal(key);
    }

    @Test
    void post_noContentType_is415() {
        String key = keyHoldingOriginal();
        assertProblem(
                raw().body("{\"value\":\"new\"}".getBytes(StandardCharsets.UTF_8))
                        .post("/" + key)
                        .then(),
                415,
                "unsupported-media-type");
        assertStillOriginal(key);
    }

    @Test
    void post_jsonWithUtf8Charset_isAccepted() {
        String key = freshKey();
        raw().contentType("Application/JSON; charset=\"utf-8\"")
                .body("{\"value\":1}")
                .post("/" + key)
                .then()
                .statusCode(204);
    }

    @Test
    void post_valueAtLimit_isAcceptedAndOneByteOverIs413() {
        String key = keyHoldingOriginal();
        String atLimit = "\"" + "x".repeat(MAX_VALUE - 2) + "\"";
        String overLimit = "\"" + "x".repeat(MAX_VALUE - 1) + "\"";

        assertProblem(post(key, "{\"value\":" + overLimit + "}"), 413, "value-too-large");
        assertStillOriginal(key);

        post(key, "{\"value\":" + atLimit + "}").statusCode(204);
        get(key).statusCode(200).body("value", equalTo(atLimit.substring(1, atLimit.length() - 1)));
    }

    @Test
    void post_bodyFarOverLimit_is413BeforeParsing() {
        String key = keyHoldingOriginal();
        String padding = " ".repeat(70 * 1024);
        assertProblem(post(key, "{\"value\":1" + padding + "}"), 413, "value-too-large");
        assertStillOriginal(key);
    }

    @Test
    void otherMethods_are405WithAllow() {
        ValidatableResponse response = raw().body("x").put("/" + freshKey()).then();
        assertProblem(response, 405, "method-not-allowed");
        response.header("Allow", containsString("GET"));
    }
}
