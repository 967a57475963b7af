package dev.ratelimit.sample;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.springframework.boot.resttestclient.autoconfigure.AutoConfigureTestRestTemplate;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;

/**
 * The playground page in a real headless Chromium (Debian's chromium and chromium-driver): it draws
 * both charts from the app's own endpoint and shows the fixed window's boundary burst. Run with
 * {@code -Pbrowser}. The driver and browser are named explicitly, so Selenium never looks for or
 * downloads either.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@AutoConfigureTestRestTemplate
@Import(LoopbackTesting.class)
class PlaygroundBrowserTests {

    private static final String CHROMIUM = "/usr/bin/chromium";
    private static final String CHROMEDRIVER = "/usr/bin/chromedriver";

    @LocalServerPort
    private int port;

    private Path profile;
    private WebDriver browser;

    @BeforeEach
    void startChromium() throws IOException {
        profile = Files.createTempDirectory("playground-chromium-");
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM).addArguments("--headless", "--no-sandbox",
                "--window-size=1280,900",
                "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile);
        options.setCapability("goog:loggingPrefs", Map.of(LogType.BROWSER, "ALL"));
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File(CHROMEDRIVER))
                .usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
    }

    @AfterEach
    void stopChromium() throws IOException {
        if (browser != null) {
            browser.quit();
        }
        try (Stream<Path> files = Files.walk(profile)) {
            files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        }
    }

    @Test
    void theDefaultComparisonShowsTheFixedWindowsBoundaryBurstAndTheTokenBucketHoldingTheLimit() throws IOException {
        browser.get("http://127.0.0.1:" + port + "/");
        assertThat(browser.getTitle()).isEqualTo("ratelimit playground");

        WebElement fixed = summary("a", "fixed-window");
        assertThat(fixed.findElement(By.cssSelector(".peak")).getText()).isEqualTo("19");
        assertThat(fixed.findElement(By.cssSelector(".peak")).getAttribute("class")).contains("over");
        assertThat(fixed.getText()).isEqualTo("20 admitted, 1 denied. Largest burst: 19 admitted within 6 s,"
                + " for a limit of 10 per 60 s: more than the limit at once.");
        WebElement bucket = summary("b", "token-bucket");
        assertThat(bucket.getText()).isEqualTo("11 admitted, 10 denied. Largest burst: 10 admitted within 6 s,"
                + " for a limit of 10 per 60 s.");
        assertThat(bucket.findElement(By.cssSelector(".peak")).getAttribute("class")).doesNotContain("over");

        assertThat(bars("a", "admitted")).as("admitted requests, in bars").isEqualTo(20);
        assertThat(bars("a", "denied")).isEqualTo(1);
        assertThat(bars("b", "admitted")).isEqualTo(11);
        assertThat(bars("b", "denied")).isEqualTo(10);
        assertThat(browser.findElements(By.cssSelector("#chart-a svg line.boundary"))).hasSize(3);
        assertThat(severeConsoleMessages()).isEmpty();
        // For a person to look at: what the page showed.
        Files.copy(((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE).toPath(), Path.of("target/playground.png"),
                StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void choosingAnotherAlgorithmAndPatternRedraws() {
        browser.get("http://127.0.0.1:" + port + "/");
        summary("b", "token-bucket");

        new Select(browser.findElement(By.id("algorithm-b"))).selectByValue("sliding-window-log");
        assertThat(summary("b", "sliding-window-log").findElement(By.cssSelector(".peak")).getText()).isEqualTo("10");

        new Select(browser.findElement(By.id("pattern"))).selectByValue("burst");
        WebElement limit = browser.findElement(By.id("limit"));
        limit.clear();
        limit.sendKeys("5");
        browser.findElement(By.id("run")).click();
        new WebDriverWait(browser, Duration.ofSeconds(20)).until(d -> d.findElement(By.id("summary-a")).getText()
                .startsWith("15 admitted, 15 denied."));
        assertThat(bars("a", "admitted")).isEqualTo(15);
        assertThat(browser.findElement(By.id("error")).getText()).isEmpty();
        assertThat(severeConsoleMessages()).isEmpty();
    }

    /** Waits until the summary on {@code side} shows a simulation of {@code algorithm}, and returns it. */
    private WebElement summary(String side, String algorithm) {
        By selector = By.cssSelector("#summary-" + side + "[data-algorithm='" + algorithm + "']");
        return new WebDriverWait(browser, Duration.ofSeconds(20)).until(d -> {
            List<WebElement> found = d.findElements(selector);
            return found.isEmpty() ? null : found.get(0);
        });
    }

    /** The requests of one kind the chart on {@code side} draws, summed over its bars. */
    private int bars(String side, String kind) {
        return browser.findElements(By.cssSelector("#chart-" + side + " svg rect." + kind)).stream()
                .mapToInt(bar -> Integer.parseInt(bar.getAttribute("data-count"))).sum();
    }

    private List<String> severeConsoleMessages() {
        return browser.manage().logs().get(LogType.BROWSER).getAll().stream()
                .filter(entry -> entry.getLevel().intValue() >= Level.SEVERE.intValue()).map(LogEntry::getMessage).toList();
    }
}
