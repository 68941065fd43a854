package dev.qache.admin.web;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Issue 13: sign-in is rate-limited per address; either of two admin tokens signs in (rotation). */
@QuarkusTest
@TestProfile(SignInRateLimitResourceTest.SmallBurst.class)
class SignInRateLimitResourceTest {

    public static class SmallBurst implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "qache.admin.token", "t-new,t-old",
                    "qache.admin-ui.signin-burst", "3",
                    "qache.admin-ui.signin-refill", "1h");
        }
    }

    @Test
    void signIn_eitherToken_thenAfterTheBurst_429WithRetryAfter_evenForTheRightToken() {
        given().redirects()
                .follow(false)
                .formParam("token", "t-old")
                .post("/signin")
                .then()
                .statusCode(303);
        given().redirects()
                .follow(false)
                .formParam("token", "t-new")
                .post("/signin")
                .then()
                .statusCode(303);
        given().formParam("token", "t-ne")
                .post("/signin")
                .then()
                .statusCode(401)
                .body(containsString("Sign-in failed."))
                .body(not(containsString("t-ne")));

        given().formParam("token", "t-new")
                .post("/signin")
                .then()
                .statusCode(429)
                .header("Retry-After", "3600")
                .body(containsString("Too many sign-in attempts"));
        given().formParam("token", "guess").post("/signin").then().statusCode(429);
    }
}
