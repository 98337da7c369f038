package dev.gemma4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemma4j.engine.Engine;
import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.Engines;
import dev.gemma4j.engine.KvCacheType;
import dev.gemma4j.engine.Profile;
import dev.gemma4j.gguf.GgufFile;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * One slot, a queue of one: the engine is held behind a gate, so "busy" is a state the test sets rather than
 * a race. Queue full gives 429 with Retry-After; a client that disconnects frees its slot; the time limit
 * ends a request with an OpenAI error.
 */
class QueueAndLimitsTest {

    /** A server whose engine waits at a gate the test controls. */
    static final class Gated implements AutoCloseable {
        final GemmaServer server;
        final GatedEngine engine;
        final Http http;

        Gated(ServerOptions options) throws Exception {
            GatedEngine[] holder = new GatedEngine[1];
            server = GemmaServer.start(options);
            server.load(() -> {
                try {
                    GgufFile g = GgufFile.open(TestModels.tiny());
                    Engine inner = Engines.open(g, new EngineOptions(256, KvCacheType.F32, 2, 64, true), Profile.cpu());
                    holder[0] = new GatedEngine(inner);
                    return new ModelHost(g, holder[0], List.of(), "cpu");
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            engine = holder[0];
            http = new Http(server.uri());
        }

        Scheduler scheduler() {
            return server.state().scheduler();
        }

        /** Waits (bounded) until the scheduler is in the engine call, blocked at the gate. */
        void awaitBlocked() throws InterruptedException {
            for (int i = 0; i < 2000 && engine.waiting.get() == 0; i++) {
                Thread.sleep(5);
            }
            assertEquals(1, engine.waiting.get(), "the scheduler waits at the gate");
        }

        void awaitIdle() throws InterruptedException {
            for (int i = 0; i < 2000 && scheduler().active() + scheduler().queued() > 0; i++) {
                Thread.sleep(5);
            }
        }

        @Override
        public void close() {
            engine.close(false);
            http.close();
            server.close();
        }
    }

    static final ExecutorService POOL = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "test-client");
        t.setDaemon(true);
        return t;
    });

    static ObjectNode request(int maxTokens, boolean stream) {
        ObjectNode b = Http.JSON.createObjectNode();
        b.putArray("messages").addObject().put("role", "user").put("content", "hello");
        b.put("max_tokens", maxTokens).put("temperature", 0).put("stream", stream);
        return b;
    }

    @Test
    void aFullQueueAnswers429WithRetryAfter() throws Exception {
        try (Gated g = new Gated(ServerOptions.defaults().withParallel(1).withQueueSize(1))) {
            g.engine.close(true);
            CompletableFuture<Http.Reply> first = CompletableFuture.supplyAsync(() -> g.http.post("/v1/chat/completions", request(4, false)), POOL);
            g.awaitBlocked();
            CompletableFuture<Http.Reply> second = CompletableFuture.supplyAsync(() -> g.http.post("/v1/chat/completions", request(4, false)), POOL);
            for (int i = 0; i < 2000 && g.scheduler().queued() == 0; i++) {
                Thread.sleep(5);
            }
            assertEquals(1, g.scheduler().queued());
            Http.Reply third = g.http.post("/v1/chat/completions", request(4, false));
            ServeApiTest.assertError(third, 429, "rate_limit_error", null);
            assertNotNull(third.header("Retry-After"));
            g.engine.close(false);
            assertEquals(200, first.get().status());
            assertEquals(200, second.get().status());
            assertTrue(g.http.get("/metrics").text().contains("status=\"429\""));
        }
    }

    @Test
    void aClientThatDisconnectsFreesItsSlotWithinOneStep() throws Exception {
        try (Gated g = new Gated(ServerOptions.defaults().withParallel(1).withQueueSize(0))) {
            g.engine.close(true);
            // the role opener arrives before any engine work; then the client closes its connection
            try (Socket socket = new Socket(g.server.uri().getHost(), g.server.port())) {
                byte[] body = request(200, true).toString().getBytes(StandardCharsets.UTF_8);
                OutputStream out = socket.getOutputStream();
                out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(body);
                out.flush();
                BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                String line;
                while ((line = in.readLine()) != null && !line.startsWith("data:")) {
                    // headers
                }
                assertNotNull(line, "the stream started");
                g.awaitBlocked();
                assertEquals(1, g.scheduler().active());
            }
            int callsBefore = g.engine.calls.get();
            // the cancellation reaches the server while its step is blocked; the step then finishes
            Thread.sleep(200);
            g.engine.close(false);
            g.awaitIdle();
            assertEquals(0, g.scheduler().active(), "the slot is free");
            assertTrue(g.engine.calls.get() - callsBefore <= 1, "freed within one step: " + (g.engine.calls.get() - callsBefore));
            assertEquals(200, g.http.post("/v1/chat/completions", request(2, false)).status(), "the slot takes new work");
        }
    }

    @Test
    void theTimeLimitEndsARequestWithAnError() throws Exception {
        // the gate stays closed past the limit, so the request cannot finish in time whenever its step runs
        try (Gated g = new Gated(ServerOptions.defaults().withParallel(1).withRequestTimeout(Duration.ofMillis(300)))) {
            g.engine.close(true);
            CompletableFuture<Http.Reply> r = CompletableFuture.supplyAsync(() -> g.http.post("/v1/chat/completions", request(50, false)), POOL);
            Thread.sleep(600);
            g.engine.close(false);
            ServeApiTest.assertError(r.get(), 408, "timeout_error", null);
            // streamed: the error arrives as the last event, in OpenAI's shape
            g.engine.close(true);
            CompletableFuture<List<String>> s = CompletableFuture.supplyAsync(() -> g.http.stream("/v1/chat/completions", request(50, true)), POOL);
            Thread.sleep(600);
            g.engine.close(false);
            List<String> events = s.get();
            JsonNode last = Http.parse(events.get(events.size() - 1));
            assertEquals("timeout_error", last.get("error").get("type").asText());
            g.awaitIdle();
            assertEquals(0, g.scheduler().active());
        }
    }

    @Test
    void healthSaysLoadingUntilTheModelIsReady() throws Exception {
        GemmaServer server = GemmaServer.start(ServerOptions.defaults());
        try (Http http = new Http(server.uri())) {
            ServeApiTest.assertError(http.get("/health"), 503, "unavailable_error", null);
            Http.Reply models = http.get("/v1/models");
            ServeApiTest.assertError(models, 503, "server_error", null);
            assertEquals("loading", models.json().get("error").get("code").asText());
            server.load(() -> {
                try {
                    GgufFile g = GgufFile.open(TestModels.tiny());
                    return new ModelHost(g, Engines.open(g, new EngineOptions(128, KvCacheType.F32, 1, 64, true), Profile.cpu()),
                        List.of(), "cpu");
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            assertEquals(200, http.get("/health").status());
        } finally {
            server.close();
        }
    }

    @Test
    void apiKeyGuardsTheApiButNotHealth() throws Exception {
        try (GemmaServer s = TestModels.start(ServerOptions.defaults().withApiKey("s3cret").withMaxBodyBytes(2048), 128);
             Http anon = new Http(s.uri()); Http wrong = new Http(s.uri(), "s3cres"); Http ok = new Http(s.uri(), "s3cret")) {
            assertEquals(200, anon.get("/health").status());
            for (String path : new String[] {"/v1/models", "/metrics"}) {
                ServeApiTest.assertError(anon.get(path), 401, "invalid_request_error", null);
                ServeApiTest.assertError(wrong.get(path), 401, "invalid_request_error", null);
                assertEquals(200, ok.get(path).status(), path);
            }
            ServeApiTest.assertError(anon.post("/v1/chat/completions", request(1, false)), 401, "invalid_request_error", null);
            ServeApiTest.assertError(anon.post("/tokenize", "{\"content\":\"x\"}"), 401, "invalid_request_error", null);
            assertEquals(200, ok.post("/v1/chat/completions", request(1, false)).status());
            // a body over the limit: 413 in OpenAI's shape
            ObjectNode big = request(1, false);
            big.put("padding", "x".repeat(4096));
            ServeApiTest.assertError(ok.post("/v1/chat/completions", big), 413, "invalid_request_error", null);
        }
    }
}
