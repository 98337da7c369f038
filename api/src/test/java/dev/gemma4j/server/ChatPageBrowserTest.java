package dev.gemma4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemma4j.engine.Engine;
import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.Engines;
import dev.gemma4j.engine.KvCacheType;
import dev.gemma4j.engine.Profile;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.sampling.StopTokens;
import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.BiFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The chat page ({@code /}) in a real browser: headless Chromium driven by Selenium against running servers
 * on the tiny synth model. One server answers as the model does (the page's streamed answer must equal the
 * API's greedy answer), one holds a long scripted answer behind a gate (streamed halfway, then stopped), one
 * has an API key and a scripted engine (reasoning, tool calls, Markdown with code and with HTML that must not
 * become elements).
 * Needs Debian's {@code chromium} and {@code chromium-driver} ({@code tools/reference/install.sh} installs them).
 */
class ChatPageBrowserTest {
    static final int CTX = 512;
    static final String KEY = "page-test-key";

    static GemmaServer plain;
    static GemmaServer gatedServer;
    static GatedEngine gate;
    static ScriptedEngine longAnswer;
    static GemmaServer scriptedServer;
    static ScriptedEngine scripted;
    static Gemma4Tokenizer tokenizer;
    static ChromeDriver driver;

    @BeforeAll
    static void start() throws IOException {
        driver = Chromium.start();
        plain = TestModels.start(ServerOptions.defaults(), CTX);
        gatedServer = start(ServerOptions.defaults().withParallel(1),
            (e, g) -> gate = new GatedEngine(longAnswer = new ScriptedEngine(e, StopTokens.of(g).ids()[0])));
        scriptedServer = start(ServerOptions.defaults().withApiKey(KEY),
            (e, g) -> scripted = new ScriptedEngine(e, StopTokens.of(g).ids()[0]));
        try (GgufFile g = GgufFile.open(TestModels.tiny())) {
            tokenizer = Gemma4Tokenizer.fromGguf(g);
        }
    }

    static GemmaServer start(ServerOptions options, BiFunction<Engine, GgufFile, Engine> wrap) {
        GemmaServer server = GemmaServer.start(options);
        server.load(() -> {
            try {
                GgufFile g = GgufFile.open(TestModels.tiny());
                EngineOptions eo = new EngineOptions(CTX, KvCacheType.F32, 2, EngineOptions.DEFAULT_PREFILL_CHUNK, true);
                return new ModelHost(g, wrap.apply(Engines.open(g, eo, Profile.cpu()), g), List.of(), "cpu");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        return server;
    }

    @AfterAll
    static void stop() {
        if (driver != null) {
            driver.quit();
        }
        if (gate != null) {
            gate.close(false);
        }
        for (GemmaServer s : new GemmaServer[] {plain, gatedServer, scriptedServer}) {
            if (s != null) {
                s.close();
            }
        }
    }

    @BeforeEach
    void openGate() {
        gate.close(false);
    }

    // ---- the page

    static WebDriverWait waiting() {
        return new WebDriverWait(driver, Duration.ofSeconds(60));
    }

    /** Opens the page of {@code server} with nothing stored in the browser and waits until it has asked for the model. */
    static void open(GemmaServer server) {
        driver.get(server.uri() + "/");
        driver.executeScript("localStorage.clear()");
        driver.navigate().refresh();
        waiting().until(d -> "true".equals(d.findElement(By.tagName("body")).getDomAttribute("data-ready")));
    }

    static WebElement byId(String id) {
        return driver.findElement(By.id(id));
    }

    /** Types a value into a settings field the way a person does (the page saves it on change). */
    static void setting(String id, String value) {
        if (!byId("settings").isDisplayed()) {
            byId("settings-toggle").click();
        }
        WebElement f = byId(id);
        f.clear();
        f.sendKeys(value, Keys.TAB);
    }

    static void send(String text) {
        byId("input").sendKeys(text);
        byId("send").click();
    }

    static WebElement lastAnswer() {
        List<WebElement> all = driver.findElements(By.cssSelector("#messages .message.assistant"));
        assertFalse(all.isEmpty(), "an answer is shown");
        return all.get(all.size() - 1);
    }

    static WebElement awaitAnswer(String... states) {
        List<String> wanted = List.of(states);
        return waiting().until(d -> {
            WebElement a = lastAnswer();
            return wanted.contains(a.getDomAttribute("data-state")) ? a : null;
        });
    }

    static String raw(WebElement answer, String css) {
        return answer.findElement(By.cssSelector(css)).getDomAttribute("data-raw");
    }

    /** The request the page makes with its defaults and the settings the tests type, as a non-streamed one. */
    static ObjectNode request(ArrayNode messages, Integer maxTokens) {
        ObjectNode b = Http.JSON.createObjectNode();
        b.set("messages", messages);
        b.put("model", "tiny.gguf");
        b.put("temperature", 0);
        b.put("top_p", 0.95);
        b.put("top_k", 64);
        if (maxTokens != null) {
            b.put("max_tokens", maxTokens);
        }
        b.putObject("chat_template_kwargs").put("enable_thinking", true);
        return b;
    }

    // ---- the tests

    @Test
    void theStreamedAnswerIsTheApisGreedyAnswerAndTheConversationIsKept() {
        open(plain);
        assertEquals("tiny.gguf", byId("model-name").getText());
        setting("set-system", "You are a storyteller.");
        setting("set-temperature", "0");
        setting("set-max-tokens", "24");
        send("Tell me a story about a cat.");
        WebElement a = awaitAnswer("done", "error");
        assertEquals("done", a.getDomAttribute("data-state"), a.getText());

        ArrayNode messages = Http.JSON.createArrayNode();
        messages.addObject().put("role", "system").put("content", "You are a storyteller.");
        messages.addObject().put("role", "user").put("content", "Tell me a story about a cat.");
        JsonNode api;
        try (Http http = new Http(plain.uri())) {
            api = http.post("/v1/chat/completions", request(messages, 24)).json();
        }
        JsonNode msg = api.get("choices").get(0).get("message");
        String content = msg.path("content").asText("");
        String reasoning = msg.path("reasoning_content").asText("");
        assertFalse(content.isEmpty() && reasoning.isEmpty(), "the model says something: " + api);
        assertEquals(content, raw(a, ".content"), "the page's answer is the API's");
        assertEquals(reasoning, raw(a, ".reasoning-text"));
        int total = api.get("usage").get("total_tokens").asInt();
        String stats = a.findElement(By.cssSelector(".stats")).getText();
        assertTrue(stats.contains(api.get("usage").get("completion_tokens").asInt() + " tokens")
            && stats.contains("tokens/s") && stats.contains("context " + total + "/" + CTX), stats);

        // a second turn, reasoning off, sends the first answer back as history
        if (!byId("settings").isDisplayed()) {
            byId("settings-toggle").click();
        }
        byId("set-thinking").click();
        send("And then?");
        a = awaitAnswer("done", "error");
        assertEquals(2, driver.findElements(By.cssSelector("#messages .message.assistant")).size());
        if (!content.isEmpty()) {
            messages.addObject().put("role", "assistant").put("content", content);
        }
        messages.addObject().put("role", "user").put("content", "And then?");
        ObjectNode secondRequest = request(messages, 24);
        secondRequest.putObject("chat_template_kwargs").put("enable_thinking", false);
        JsonNode second;
        try (Http http = new Http(plain.uri())) {
            second = http.post("/v1/chat/completions", secondRequest).json();
        }
        assertEquals(second.get("choices").get(0).get("message").path("content").asText(""), raw(a, ".content"));
        // the context used tells the prompts apart (the template differs with reasoning off)
        stats = a.findElement(By.cssSelector(".stats")).getText();
        assertTrue(stats.contains("context " + second.get("usage").get("total_tokens").asInt() + "/" + CTX), stats);

        // kept in the browser: after a reload the conversation is listed and shown again
        String before = raw(a, ".content");
        driver.navigate().refresh();
        waiting().until(d -> "true".equals(d.findElement(By.tagName("body")).getDomAttribute("data-ready")));
        assertEquals(1, driver.findElements(By.cssSelector("#conversations li")).size());
        assertEquals(4, driver.findElements(By.cssSelector("#messages .message")).size());
        assertEquals(before, raw(lastAnswer(), ".content"));
        // a new conversation, then deleting the first
        byId("new-chat").click();
        assertEquals(2, driver.findElements(By.cssSelector("#conversations li")).size());
        assertEquals(0, driver.findElements(By.cssSelector("#messages .message")).size());
        driver.findElements(By.cssSelector("#conversations .conv-delete")).get(1).click();
        assertEquals(1, driver.findElements(By.cssSelector("#conversations li")).size());
    }

    @Test
    void theAnswerStreamsAndStopCancelsTheRequest() throws InterruptedException {
        longAnswer.script(tokenizer.encode("word ".repeat(300), false, true));
        open(gatedServer);
        setting("set-max-tokens", "400");
        // the prompt and a few tokens pass, then the engine waits at the gate: the answer is halfway
        gate.passThenClose(8);
        send("Say 'word' three hundred times.");
        for (int i = 0; i < 2000 && gate.waiting.get() == 0; i++) {
            Thread.sleep(5);
        }
        assertEquals(1, gate.waiting.get(), "the request reached the engine");
        String partial = waiting().until(d -> {
            String r = raw(lastAnswer(), ".content");
            return r != null && r.startsWith("word word") ? r : null;
        });
        assertEquals("streaming", lastAnswer().getDomAttribute("data-state"), "shown while it is generated");
        assertTrue(byId("stop").isEnabled() && !byId("send").isEnabled());
        int calls = gate.calls.get();
        byId("stop").click();
        WebElement a = awaitAnswer("stopped", "done", "error");
        assertEquals("stopped", a.getDomAttribute("data-state"));
        assertTrue(a.findElement(By.cssSelector(".stats")).getText().contains("stopped"));
        String kept = raw(a, ".content");
        assertTrue(kept.startsWith(partial) && kept.length() < "word ".repeat(100).length(), "what came before the stop stays: " + kept);
        assertTrue(byId("send").isEnabled() && !byId("stop").isEnabled());
        gate.close(false);
        Scheduler s = gatedServer.state().scheduler();
        for (int i = 0; i < 2000 && s.active() + s.queued() > 0; i++) {
            Thread.sleep(5);
        }
        assertEquals(0, s.active(), "the slot is free");
        // 300 more tokens would be 300 more engine steps; a cancelled request ends within a few
        assertTrue(gate.calls.get() - calls < 100, "engine steps after stop: " + (gate.calls.get() - calls));
    }

    @Test
    void serverErrorsAreShownToThePerson() {
        open(plain);
        setting("set-max-tokens", "100000");
        send("Hello");
        WebElement a = awaitAnswer("error", "done");
        assertEquals("error", a.getDomAttribute("data-state"));
        WebElement error = a.findElement(By.cssSelector(".error"));
        assertTrue(error.isDisplayed());
        // the server's own message: it names the limit and the context size
        assertTrue(error.getText().startsWith("400: ") && error.getText().contains("100000") && error.getText().contains(Integer.toString(CTX)),
            error.getText());

        // a server that has gone away
        GemmaServer gone = TestModels.start(ServerOptions.defaults(), 256);
        open(gone);
        gone.close();
        send("Hello");
        a = awaitAnswer("error", "done");
        assertEquals("error", a.getDomAttribute("data-state"));
        assertTrue(a.findElement(By.cssSelector(".error")).getText().startsWith("The request failed"),
            a.findElement(By.cssSelector(".error")).getText());
    }

    static final String SCRIPT = "<|channel>thought\nThe person asks about **Paris**; the weather tool answers that.<channel|>"
        + "Asking the tool. Meanwhile, in *Python*:\n\n```python\ndef weather(city):\n    return lookup(city)\n```\n\n"
        + "<img src=x onerror=\"window.__xss=1\"><script>window.__xss=2</script>[a link](javascript:window.__xss=3)"
        + "<|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>}<tool_call|>";

    static final String TOOLS = "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather of a city\","
        + "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}}]";

    @Test
    void apiKeyReasoningToolCallsAndSanitisedMarkdown() throws IOException {
        scripted.script(tokenizer.encode(SCRIPT, false, true));
        open(scriptedServer);
        // the server has a key: the page asks for it, refuses a wrong one, works with the right one
        waiting().until(d -> d.findElement(By.id("key-prompt")).isDisplayed());
        byId("api-key").sendKeys("wrong", Keys.ENTER);
        waiting().until(d -> d.findElement(By.id("key-error")).getText().contains("not accepted"));
        byId("api-key").sendKeys(KEY, Keys.ENTER);
        waiting().until(d -> !d.findElement(By.id("key-prompt")).isDisplayed());
        assertEquals("tiny.gguf", byId("model-name").getText());

        setting("set-tools", TOOLS);
        send("What is the weather in Paris?");
        WebElement a = awaitAnswer("done", "error");
        assertEquals("done", a.getDomAttribute("data-state"), a.getText());

        // the API's answer to the same request
        ArrayNode messages = Http.JSON.createArrayNode();
        messages.addObject().put("role", "user").put("content", "What is the weather in Paris?");
        ObjectNode req = request(messages, null).put("temperature", 1.0);
        req.set("tools", Http.parse(TOOLS));
        JsonNode msg;
        try (Http http = new Http(scriptedServer.uri(), KEY)) {
            msg = http.post("/v1/chat/completions", req).json().get("choices").get(0).get("message");
        }
        assertEquals(msg.get("content").asText(), raw(a, ".content"));
        assertTrue(raw(a, ".content").contains("<script>"), "the hostile HTML is in the answer's text");

        // reasoning: collapsed, opens on click
        WebElement details = a.findElement(By.cssSelector("details.reasoning"));
        WebElement thought = details.findElement(By.cssSelector(".reasoning-text"));
        assertEquals(msg.get("reasoning_content").asText(), thought.getDomAttribute("data-raw"));
        assertNull(details.getDomAttribute("open"));
        assertFalse(thought.isDisplayed());
        details.findElement(By.tagName("summary")).click();
        assertNotNull(details.getDomAttribute("open"));
        assertTrue(thought.isDisplayed());
        assertEquals("The person asks about **Paris**; the weather tool answers that.", thought.getText());

        // the tool call
        JsonNode call = msg.get("tool_calls").get(0).get("function");
        WebElement tool = a.findElement(By.cssSelector(".tool-call"));
        assertEquals(call.get("name").asText(), tool.findElement(By.cssSelector(".tool-name")).getText());
        assertEquals(call.get("arguments").asText(), tool.findElement(By.cssSelector(".tool-arguments")).getText());
        assertTrue(call.get("arguments").asText().contains("Paris"));

        // Markdown rendered, code highlighted
        WebElement content = a.findElement(By.cssSelector(".content"));
        assertEquals("Python", content.findElement(By.tagName("em")).getText());
        WebElement code = content.findElement(By.cssSelector("pre code.hljs"));
        assertFalse(code.findElements(By.cssSelector("span.hljs-keyword")).isEmpty(), code.getDomProperty("innerHTML"));
        assertTrue(code.getText().contains("def weather(city):"));
        // model output never becomes script: no script element, no event handler, no javascript: link, nothing ran
        assertTrue(content.findElements(By.cssSelector("script, [onerror], a[href^='javascript']")).isEmpty(),
            content.getDomProperty("innerHTML"));
        assertEquals(Boolean.TRUE, driver.executeScript("return window.__xss === undefined"));

        // the picture in docs/ (chat-page.png) is this page, settings closed
        byId("settings-toggle").click();
        driver.executeScript("document.getElementById('messages').scrollTop = 0");
        Files.write(Path.of("target", "chat-page.png"), driver.getScreenshotAs(OutputType.BYTES));
    }

    @Test
    void thePageAndItsLibrariesNeedNoKeyWhileTheApiDoes() {
        try (Http http = new Http(scriptedServer.uri())) {
            Http.Reply page = http.get("/");
            assertEquals(200, page.status());
            assertTrue(page.header("Content-Type").startsWith("text/html"), page.header("Content-Type"));
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?:src|href)=\"(/[^\"]+)\"").matcher(page.text());
            int n = 0;
            while (m.find()) {
                Http.Reply r = http.get(m.group(1));
                assertEquals(200, r.status(), m.group(1));
                assertFalse(r.text().isEmpty(), m.group(1));
                n++;
            }
            assertEquals(6, n, "the page's style sheets and scripts");
            assertEquals(401, http.get("/v1/models").status());
            assertEquals(404, http.get("/webjars/nothing.js").status());
        }
    }
}
