package dev.gemma4j.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/** Debian's headless Chromium under Selenium, for the chat page's tests ({@code tools/reference/install.sh} installs both packages). */
public final class Chromium {
    public static final Path DRIVER = Path.of("/usr/bin/chromedriver");
    public static final Path BROWSER = Path.of("/usr/bin/chromium");

    private Chromium() {
    }

    /** A new headless browser; fails (never skips) when Chromium or its driver is missing. */
    public static ChromeDriver start() {
        assertTrue(Files.isExecutable(DRIVER) && Files.isExecutable(BROWSER), "the chat page tests need " + BROWSER
            + " and " + DRIVER + ": apt-get install chromium chromium-driver (tools/reference/install.sh does)");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(BROWSER.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            "--window-size=1280,900");
        // the driver is Debian's, named explicitly, so that Selenium Manager never tries to download one
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile())
            .usingAnyFreePort().build();
        return new ChromeDriver(service, options);
    }
}
