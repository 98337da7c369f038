package dev.gemma4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemma4j.model.Gemma4Config;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The prompt cache through {@code /v1/chat/completions} and {@code /v1/completions}: later turns of a
 * conversation report {@code usage.prompt_tokens_details.cached_tokens} and their greedy tokens equal those
 * of a server without the cache. The engine runs batches of 8 rows, so the tiny model's sliding layers
 * (window 16) keep a ring of only 23 positions and a longer answer moves it past the end of the prompt: going
 * back there then needs the checkpoint taken at the end of the prompt.
 */
class PromptCacheServeTest {
    static final int CTX = 1024;
    static final int CHUNK = 8;
    static final String[] WORDS = {"river", "stone", "light", "garden", "north", "window", "paper", "silver", "market",
        "winter", "engine", "forest", "harbor", "letter", "mountain", "orange", "planet", "quiet", "signal", "table"};

    static GemmaServer plain;
    static Http plainHttp;
    static int[] stops;

    @BeforeAll
    static void start() {
        plain = TestModels.start(ServerOptions.defaults().withParallel(2).withPromptCache(false, 0), CTX, CHUNK);
        plainHttp = new Http(plain.uri());
        stops = plain.state().model().stops().ids();
    }

    @AfterAll
    static void stop() {
        plainHttp.close();
        plain.close();
    }

    static String document(long seed, int words) {
        Random r = new Random(seed);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < words; i++) {
            sb.append(i == 0 ? "" : i % 12 == 0 ? ". " : " ").append(WORDS[r.nextInt(WORDS.length)]);
        }
        return sb.append('.').toString();
    }

    /** Greedy, with logprobs (for the token ids) and the end-of-generation tokens banned (every answer is max long). */
    static ObjectNode greedy(int maxTokens) {
        ObjectNode b = Http.JSON.createObjectNode();
        b.put("max_tokens", maxTokens);
        b.put("temperature", 0);
        b.put("logprobs", true);
        ObjectNode bias = b.putObject("logit_bias");
        for (int t : stops) {
            bias.put(Integer.toString(t), -100);
        }
        return b;
    }

    static ObjectNode chat(List<String> turns, int maxTokens) {
        ObjectNode b = greedy(maxTokens);
        ArrayNode m = b.putArray("messages");
        for (int i = 0; i < turns.size(); i++) {
            m.addObject().put("role", i % 2 == 0 ? "user" : "assistant").put("content", turns.get(i));
        }
        return b;
    }

    static ObjectNode completion(String prompt, int maxTokens) {
        return greedy(maxTokens).put("prompt", prompt);
    }

    static JsonNode post(Http h, String path, ObjectNode body) {
        Http.Reply r = h.post(path, body);
        assertEquals(200, r.status(), r.text());
        return r.json();
    }

    static int cached(JsonNode r) {
        return r.get("usage").get("prompt_tokens_details").get("cached_tokens").asInt();
    }

    static int prompt(JsonNode r) {
        return r.get("usage").get("prompt_tokens").asInt();
    }

    /** The same request to the server under test and to the one without a cache: equal greedy tokens. */
    static JsonNode both(Http h, String path, ObjectNode body) {
        JsonNode ours = post(h, path, body);
        JsonNode ref = post(plainHttp, path, body);
        assertEquals(ServeApiTest.ids(ref), ServeApiTest.ids(ours), "greedy tokens with the cache = without it");
        assertEquals(0, cached(ref), "a server without the cache reuses nothing");
        return ours;
    }

    static String content(JsonNode r) {
        return r.get("choices").get(0).get("message").path("content").asText("");
    }

    static double metric(Http h, String name) {
        for (String line : h.get("/metrics").text().split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError("no metric " + name);
    }

    @Test
    void laterTurnsReuseTheConversationAndAnswerAsWithoutTheCache() {
        try (GemmaServer server = TestModels.start(ServerOptions.defaults().withParallel(2), CTX, CHUNK);
             Http http = new Http(server.uri())) {
            String user1 = "Read this document.\n" + document(1, 90) + "\nWhich word comes first?";
            JsonNode r1 = both(http, "/v1/chat/completions", chat(List.of(user1), 30));
            assertEquals(0, cached(r1), "nothing cached yet");
            List<String> turn2 = List.of(user1, content(r1), "And which word comes last?");
            JsonNode r2 = both(http, "/v1/chat/completions", chat(turn2, 30));
            assertTrue(cached(r2) >= prompt(r1) - 1, "turn 2 reuses at least turn 1's prompt: " + cached(r2) + " of " + prompt(r2)
                + ", turn 1 had " + prompt(r1));
            // turn 3 streamed: the usage chunk says the same
            ObjectNode b3 = chat(List.of(user1, content(r1), "And which word comes last?", content(r2), "How many words?"), 30);
            JsonNode r3 = both(http, "/v1/chat/completions", b3);
            assertTrue(cached(r3) >= prompt(r2) - 1, "turn 3: " + cached(r3) + ", turn 2 had " + prompt(r2));
            b3.put("stream", true);
            b3.putObject("stream_options").put("include_usage", true);
            ServeApiTest.Streamed s = ServeApiTest.collect(http.stream("/v1/chat/completions", b3));
            assertEquals(ServeApiTest.ids(r3), s.ids());
            assertEquals(prompt(r3) - 1, s.usage().get("prompt_tokens_details").get("cached_tokens").asInt(),
                "the same prompt again: all but its last token");
            assertTrue(metric(http, "gemma_prompt_cache_tokens_total") >= cached(r2) + cached(r3));
        }
    }

    @Test
    void twoInterleavedConversationsKeepOneSlotEach() {
        try (GemmaServer server = TestModels.start(ServerOptions.defaults().withParallel(2), CTX, CHUNK);
             Http http = new Http(server.uri())) {
            String a1 = "First document.\n" + document(2, 80) + "\nSummarise it.";
            String b1 = "Second document.\n" + document(3, 80) + "\nSummarise it.";
            JsonNode ra1 = both(http, "/v1/chat/completions", chat(List.of(a1), 20));
            JsonNode rb1 = both(http, "/v1/chat/completions", chat(List.of(b1), 20));
            JsonNode ra2 = both(http, "/v1/chat/completions", chat(List.of(a1, content(ra1), "Shorter, please."), 20));
            JsonNode rb2 = both(http, "/v1/chat/completions", chat(List.of(b1, content(rb1), "Shorter, please."), 20));
            assertTrue(cached(ra2) >= prompt(ra1) - 1, "conversation A kept its slot: " + cached(ra2));
            assertTrue(cached(rb2) >= prompt(rb1) - 1, "conversation B kept its slot: " + cached(rb2));
            assertEquals(2, metric(http, "gemma_prompt_cache_requests_total{result=\"hit\"}") , 0.0);
        }
    }

    @Test
    void aCheckpointBringsBackThePromptEndAfterTheRingMovedOn() {
        try (GemmaServer server = TestModels.start(ServerOptions.defaults().withParallel(2), CTX, CHUNK);
             Http http = new Http(server.uri())) {
            String p1 = document(4, 60) + " Now continue:";
            JsonNode r1 = both(http, "/v1/completions", completion(p1, 40));
            assertEquals(40, r1.get("usage").get("completion_tokens").asInt());
            // 39 answer tokens were evaluated after the prompt: the 23-position rings hold nothing a query at the
            // prompt's end needs, so reusing the prompt needs its checkpoint
            JsonNode r2 = both(http, "/v1/completions", completion(p1 + " river stone light.", 10));
            assertTrue(cached(r2) >= prompt(r1) - 1, "the prompt of request 1 is reused: " + cached(r2) + " of " + prompt(r1));
            JsonNode again = both(http, "/v1/completions", completion(p1, 40));
            assertEquals(prompt(r1) - 1, cached(again), "the same prompt: all but its last token");
            assertEquals(ServeApiTest.ids(r1), ServeApiTest.ids(again));
            assertTrue(metric(http, "gemma_prompt_cache_checkpoints") >= 1);
        }
    }

    @Test
    void aBudgetForOneCheckpointEvictsTheLeastRecentlyUsed() {
        Gemma4Config cfg = plain.state().model().engine().config();
        long oneCheckpoint = 0;
        for (Gemma4Config.LayerConfig l : cfg.layers()) {
            if (l.sliding()) {
                // W positions of K and V rows, f32
                oneCheckpoint += (long) cfg.slidingWindow() * 2 * l.kvHeadCount() * l.headDim() * Float.BYTES;
            }
        }
        long budget = oneCheckpoint * 3 / 2;
        try (GemmaServer server = TestModels.start(ServerOptions.defaults().withParallel(2).withPromptCache(true, budget), CTX, CHUNK);
             Http http = new Http(server.uri())) {
            String a = document(5, 60) + " Continue:";
            String b = document(6, 60) + " Continue:";
            JsonNode ra1 = both(http, "/v1/completions", completion(a, 40));
            both(http, "/v1/completions", completion(b, 40));
            // B's checkpoint pushed A's out; B's own is the most recent
            assertTrue(metric(http, "gemma_prompt_cache_evictions_total") >= 1);
            assertTrue(metric(http, "gemma_prompt_cache_bytes") <= budget);
            JsonNode rb2 = both(http, "/v1/completions", completion(b + " more", 10));
            assertTrue(cached(rb2) > 0, "B resumes from its checkpoint");
            JsonNode ra2 = both(http, "/v1/completions", completion(a + " more", 10));
            assertEquals(0, cached(ra2), "A's checkpoint was evicted and its ring moved on: A starts over (of "
                + prompt(ra1) + " shared)");
        }
    }

    @Test
    void cachePromptFalseEvaluatesTheWholePrompt() {
        try (GemmaServer server = TestModels.start(ServerOptions.defaults().withParallel(1), CTX, CHUNK);
             Http http = new Http(server.uri())) {
            String p = document(7, 40);
            both(http, "/v1/completions", completion(p, 5));
            JsonNode off = both(http, "/v1/completions", completion(p, 5).put("cache_prompt", false));
            assertEquals(0, cached(off));
            JsonNode on = both(http, "/v1/completions", completion(p, 5));
            assertEquals(prompt(on) - 1, cached(on));
        }
    }
}
