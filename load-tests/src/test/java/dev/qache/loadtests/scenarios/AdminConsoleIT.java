package dev.qache.loadtests.scenarios;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The admin console in a real browser (Debian's chromium, headless) against real processes: three
 * shards with a replica each, the router and the console. Sign in, see the three shards on the
 * ring, add a fourth node through the form and watch its migration reach done, force a promotion
 * and see the new primary. Screenshots of the pages go to {@code target/screenshots/}.
 */
class AdminConsoleIT {

    private static final Path CHROMIUM = Path.of(System.getProperty("qache.chromium", "/usr/bin/chromium"));
    private static final Path CHROMEDRIVER = Path.of(System.getProperty("qache.chromedriver", "/usr/bin/chromedriver"));
    private static final Path SHOTS = Path.of("target", "screenshots");

    private LocalCluster cluster;
    private WebDriver browser;

    @AfterEach
    void stop() throws Exception {
        if (browser != null) {
            browser.quit();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private WebDriver chromium() throws IOException {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            throw new IllegalStateException("the browser test needs " + CHROMIUM + " and " + CHROMEDRIVER
                    + ": apt-get install chromium chromium-driver (.ci/run does), or point -Dqache.chromium and"
                    + " -Dqache.chromedriver at them");
        }
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments(
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--no-first-run",
                "--window-size=1400,1100",
                "--user-data-dir=" + Files.createTempDirectory("qache-chromium"));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort()
                .build();
        return new ChromeDriver(service, options);
    }

    private void shot(String name) throws IOException {
        Files.createDirectories(SHOTS);
        Path file = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE).toPath();
        Files.copy(file, SHOTS.resolve(name + ".png"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * Waits until the page's flash message says {@code words}. The flash of the page before a form
     * was sent has the same id and may be caught just as it is replaced: Chromium then reports a
     * node that "does not belong to the document" (not a stale-element error), so any driver
     * error while looking is retried until the new page's flash is there.
     */
    private void awaitFlash(int seconds, String words) {
        waitUpTo(seconds)
                .ignoring(org.openqa.selenium.WebDriverException.class)
                .until(d -> d.findElement(By.id("flash")).getText().contains(words));
    }

    private WebDriverWait waitUpTo(int seconds) {
        // The live section is replaced every second or so: an element found may be gone a moment later.
        return (WebDriverWait) new WebDriverWait(browser, Duration.ofSeconds(seconds), Duration.ofMillis(100))
                .ignoring(StaleElementReferenceException.class);
    }

    /** Read in one script run: htmx may replace the ring between two WebDriver calls. */
    @SuppressWarnings("unchecked")
    private Set<String> shardsOnTheRing() {
        List<String> shards = (List<String>) ((JavascriptExecutor) browser)
                .executeScript("return Array.from(document.querySelectorAll('svg.ring path.owned'))"
                        + ".map(p => p.dataset.shard)");
        return new HashSet<>(shards);
    }

    @Test
    void signIn_seeTheRing_addANode_watchItsMigration_forceAPromotion() throws Exception {
        cluster = new LocalCluster().start(3, 1);
        LocalCluster.Member ui = cluster.startAdminUi();
        for (int i = 0; i < 3000; i++) {
            assertThat(cluster.post(cluster.router().url() + "/k" + i, "{\"value\":\"v" + i + "\",\"ttl\":600}")
                            .statusCode())
                    .isEqualTo(204);
        }
        browser = chromium();

        // Signing in: every page sends there first; a wrong token is refused on the page.
        browser.get(ui.url() + "/");
        waitUpTo(10).until(ExpectedConditions.urlContains("/signin"));
        browser.findElement(By.id("token")).sendKeys("not the token");
        browser.findElement(By.cssSelector("#signin button")).click();
        assertThat(waitUpTo(10)
                        .until(ExpectedConditions.visibilityOfElementLocated(By.id("signin-error")))
                        .getText())
                .contains("Sign-in failed.");
        shot("signin");
        browser.findElement(By.id("token")).sendKeys(LocalCluster.ADMIN_TOKEN);
        browser.findElement(By.cssSelector("#signin button")).click();

        // Three shards on the ring, each with a primary and a replica that are up.
        waitUpTo(20).until(d -> shardsOnTheRing().size() == 3);
        assertThat(shardsOnTheRing()).containsExactlyInAnyOrder("s1", "s2", "s3");
        waitUpTo(20)
                .until(d -> d.findElements(By.cssSelector("#shards .state.up")).size() == 6);
        shot("dashboard");

        // Add a fourth node as a new shard: confirm, then watch the migration to done.
        LocalCluster.Member fourth = cluster.startNode("node-s4");
        cluster.awaitReady(List.of(fourth));
        browser.findElement(By.id("add-address")).sendKeys(fourth.address());
        browser.findElement(By.id("add-submit")).click();
        assertThat(waitUpTo(10)
                        .until(ExpectedConditions.visibilityOfElementLocated(By.id("question")))
                        .getText())
                .contains("Add " + fourth.address() + " as a new shard?");
        shot("confirm");
        browser.findElement(By.id("confirm")).click();
        awaitFlash(20, "with primary " + fourth.address() + " joined");
        shot("migration-started");
        // htmx refreshes the live section in place until the migration is done.
        waitUpTo(60)
                .until(d -> !d.findElements(By.cssSelector("#migrations .migration.done"))
                        .isEmpty());
        waitUpTo(20).until(d -> shardsOnTheRing().size() == 4);
        String slotsBar = waitUpTo(5)
                .until((WebDriver d) -> d.findElement(By.cssSelector("#migrations .migration.done .slots"))
                        .getDomAttribute("value"));
        assertThat(slotsBar).isEqualTo("100");
        shot("migration-done");

        // Force a promotion of s1's replica: the table shows it as the primary.
        String replica = cluster.replicas("s1").get(0).address();
        new Select(browser.findElement(By.id("promote-target"))).selectByValue("s1|" + replica);
        browser.findElement(By.id("promote-submit")).click();
        waitUpTo(10).until(ExpectedConditions.visibilityOfElementLocated(By.id("confirm")));
        browser.findElement(By.id("confirm")).click();
        awaitFlash(20, "Shard s1: " + replica + " is the primary now");
        waitUpTo(20)
                .until(d -> !d.findElements(By.cssSelector("#shard-s1 tr.node.primary[data-address='" + replica + "']"))
                        .isEmpty());
        shot("after-promotion");

        // Bad input is refused on the page, in words.
        browser.findElement(By.id("add-address")).sendKeys("not-an-address");
        browser.findElement(By.id("add-submit")).click();
        awaitFlash(10, "is not host:port");
    }
}
