package dev.gemma4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemma4j.hub.TestHub;
import dev.gemma4j.server.Chromium;
import dev.gemma4j.synth.SynthConfig;
import dev.gemma4j.synth.SynthModel;
import dev.gemma4j.synth.SynthType;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * What a person does: {@code ./gemma serve --model OWNER/REPO:TAG} (pulled from the hub, with progress, on
 * first use), then a browser at the address it prints, one message, the answer. The hub is {@link TestHub};
 * the browser is headless Chromium. Leaves the page ({@code target/chat-page-hub.png}) and the launcher's
 * output ({@code target/chat-page-hub.log}) behind for the record.
 */
class ChatPageIT {
    private static final Path LAUNCHER = Path.of("..", "gemma").toAbsolutePath().normalize();
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void serveAModelFromTheHubAndChatWithItInTheBrowser(@TempDir Path dir) throws Exception {
        ChromeDriver driver = Chromium.start();
        Path file = dir.resolve("tiny.gguf");
        SynthModel.write(SynthModel.plan(SynthConfig.preset("tiny"), SynthType.Q4_K_M, 5), file, 2);
        Path err = dir.resolve("err.txt");
        Process p = null;
        try (TestHub hub = new TestHub()) {
            hub.repo("acme/tiny-GGUF", "89abcdef0123456789abcdef0123456789abcdef",
                Map.of("tiny-Q4_K_M.gguf", Files.readAllBytes(file), "README.md", "# tiny\n".getBytes(StandardCharsets.UTF_8)), false);
            ProcessBuilder pb = new ProcessBuilder(LAUNCHER.toString(), "serve", "--model", "acme/tiny-GGUF:Q4_K_M",
                "--port", "0", "-t", "1", "--ctx", "512")
                .redirectOutput(dir.resolve("out.txt").toFile()).redirectError(err.toFile());
            pb.environment().put("GEMMA_HOME", dir.resolve("home").toString());
            pb.environment().put("HF_ENDPOINT", hub.endpoint().toString());
            pb.environment().remove("HF_TOKEN");
            p = pb.start();
            Pattern ready = Pattern.compile("chat page (http://\\S+/)\\R");
            Matcher m = null;
            for (int i = 0; i < 1200 && p.isAlive(); i++) {
                m = ready.matcher(Files.readString(err, StandardCharsets.UTF_8));
                if (m.find()) {
                    break;
                }
                m = null;
                Thread.sleep(100);
            }
            String log = Files.readString(err, StandardCharsets.UTF_8);
            assertNotNull(m, "no startup line: " + log);
            assertTrue(log.contains("tiny-Q4_K_M.gguf"), "the pull says what it downloads: " + log);

            driver.get(m.group(1));
            WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(60));
            wait.until(d -> "true".equals(d.findElement(By.tagName("body")).getDomAttribute("data-ready")));
            driver.findElement(By.id("settings-toggle")).click();
            WebElement t = driver.findElement(By.id("set-temperature"));
            t.clear();
            t.sendKeys("0", Keys.TAB);
            WebElement n = driver.findElement(By.id("set-max-tokens"));
            n.clear();
            n.sendKeys("40", Keys.TAB);
            driver.findElement(By.id("settings-toggle")).click();
            driver.findElement(By.id("input")).sendKeys("Write a haiku about the sea.", Keys.ENTER);
            WebElement answer = wait.until(d -> {
                List<WebElement> a = d.findElements(By.cssSelector("#messages .message.assistant"));
                return !a.isEmpty() && List.of("done", "error").contains(a.get(0).getDomAttribute("data-state")) ? a.get(0) : null;
            });
            assertEquals("done", answer.getDomAttribute("data-state"), answer.getText());

            // the same request through the API
            ObjectNode body = JSON.createObjectNode();
            body.putArray("messages").addObject().put("role", "user").put("content", "Write a haiku about the sea.");
            body.put("temperature", 0).put("top_p", 0.95).put("top_k", 64).put("max_tokens", 40);
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(m.group(1) + "v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).header("Content-Type", "application/json").build(),
                HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            JsonNode msg = JSON.readTree(r.body()).get("choices").get(0).get("message");
            String content = msg.path("content").asText("");
            assertFalse(content.isEmpty() && msg.path("reasoning_content").asText("").isEmpty(), r.body());
            assertEquals(content, answer.findElement(By.cssSelector(".content")).getDomAttribute("data-raw"));
            assertTrue(answer.findElement(By.cssSelector(".stats")).getText().contains("/512"));

            Files.write(Path.of("target", "chat-page-hub.png"), driver.getScreenshotAs(OutputType.BYTES));
            Files.writeString(Path.of("target", "chat-page-hub.log"), log);
        } finally {
            driver.quit();
            if (p != null) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
        }
    }
}
