package dev.gemma4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemma4j.chat.ChatRequest;
import dev.gemma4j.chat.Gemma4ChatTemplate;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every endpoint of {@code gemma serve} over the tiny synth model, through Micronaut's HTTP and SSE clients. */
class ServeApiTest {
    static final int CTX = 512;
    static GemmaServer server;
    static Http http;
    static Gemma4Tokenizer tokenizer;
    static Gemma4ChatTemplate template;

    @BeforeAll
    static void start() throws Exception {
        server = TestModels.start(ServerOptions.defaults().withAliases(List.of("gemma-tiny")), CTX);
        http = new Http(server.uri());
        try (GgufFile g = GgufFile.open(TestModels.tiny())) {
            tokenizer = Gemma4Tokenizer.fromGguf(g);
        }
        template = server.state().model().template();
    }

    @AfterAll
    static void stop() {
        http.close();
        server.close();
    }

    static ObjectNode chat(String user, int maxTokens) {
        ObjectNode b = Http.JSON.createObjectNode();
        b.putArray("messages").addObject().put("role", "user").put("content", user);
        b.put("max_tokens", maxTokens);
        b.put("temperature", 0);
        b.put("logprobs", true);
        return b;
    }

    /** The generated token ids of choice 0 (from the logprobs entries, which carry the id). */
    static List<Integer> ids(JsonNode response) {
        List<Integer> ids = new ArrayList<>();
        for (JsonNode e : response.get("choices").get(0).get("logprobs").get("content")) {
            ids.add(e.get("id").asInt());
        }
        return ids;
    }

    /** What a stream says: token ids, content, reasoning, finish reason, usage. */
    record Streamed(List<Integer> ids, String content, String reasoning, String finish, JsonNode usage, int chunks) {
    }

    static Streamed collect(List<String> events) {
        assertEquals("[DONE]", events.get(events.size() - 1), "a stream ends with [DONE]");
        List<Integer> ids = new ArrayList<>();
        StringBuilder content = new StringBuilder();
        StringBuilder reasoning = new StringBuilder();
        String finish = null;
        JsonNode usage = null;
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode c = Http.parse(e);
            assertEquals("chat.completion.chunk", c.get("object").asText());
            if (c.hasNonNull("usage")) {
                usage = c.get("usage");
                assertEquals(0, c.get("choices").size());
                continue;
            }
            JsonNode ch = c.get("choices").get(0);
            JsonNode d = ch.get("delta");
            if (d.hasNonNull("content")) {
                content.append(d.get("content").asText());
            }
            if (d.hasNonNull("reasoning_content")) {
                reasoning.append(d.get("reasoning_content").asText());
            }
            if (ch.hasNonNull("logprobs")) {
                for (JsonNode lp : ch.get("logprobs").get("content")) {
                    ids.add(lp.get("id").asInt());
                }
            }
            if (ch.hasNonNull("finish_reason")) {
                assertNull(finish, "one finish_reason per choice");
                finish = ch.get("finish_reason").asText();
            }
        }
        return new Streamed(ids, content.toString(), reasoning.toString(), finish, usage, events.size());
    }

    static void assertError(Http.Reply r, int status, String type, String param) {
        assertEquals(status, r.status(), r.text());
        JsonNode e = r.json().get("error");
        assertNotNull(e, r.text());
        assertTrue(e.get("message").isTextual() && !e.get("message").asText().isEmpty(), r.text());
        assertEquals(type, e.get("type").asText(), r.text());
        assertTrue(e.has("param") && e.has("code"), r.text());
        if (param != null) {
            assertEquals(param, e.get("param").asText(), r.text());
        }
        assertFalse(r.text().contains("\tat "), "no stack trace on the wire");
    }

    @Test
    void healthAndModels() {
        Http.Reply h = http.get("/health");
        assertEquals(200, h.status());
        assertEquals("ok", h.json().get("status").asText());
        Http.Reply m = http.get("/v1/models");
        assertEquals(200, m.status());
        JsonNode model = m.json().get("data").get(0);
        assertEquals("tiny.gguf", model.get("id").asText());
        assertEquals("gemma-tiny", model.get("aliases").get(0).asText());
        assertEquals(CTX, model.get("meta").get("n_ctx").asInt());
    }

    @Test
    void streamedAndNonStreamedGreedyAnswersAreIdentical() {
        ObjectNode b = chat("Tell me a story about a cat.", 40);
        Http.Reply r = http.post("/v1/chat/completions", b);
        assertEquals(200, r.status(), r.text());
        JsonNode j = r.json();
        assertEquals("chat.completion", j.get("object").asText());
        assertTrue(j.get("id").asText().startsWith("chatcmpl-"));
        assertNotNull(j.get("system_fingerprint"));
        JsonNode msg = j.get("choices").get(0).get("message");
        assertEquals("assistant", msg.get("role").asText());
        List<Integer> ids = ids(j);
        assertEquals(j.get("usage").get("completion_tokens").asInt(), ids.size());

        b.put("stream", true);
        b.putObject("stream_options").put("include_usage", true);
        Streamed s = collect(http.stream("/v1/chat/completions", b));
        assertEquals(ids, s.ids(), "token for token");
        assertEquals(msg.path("content").asText(""), s.content());
        assertEquals(msg.path("reasoning_content").asText(""), s.reasoning());
        assertEquals(j.get("choices").get(0).get("finish_reason").asText(), s.finish());
        for (String f : new String[] {"prompt_tokens", "completion_tokens", "total_tokens"}) {
            assertEquals(j.get("usage").get(f), s.usage().get(f), f);
        }
        // the same prompt again: all of it but its last token comes from the prompt cache
        assertEquals(s.usage().get("prompt_tokens").asInt() - 1, s.usage().get("prompt_tokens_details").get("cached_tokens").asInt());
        // the ids are what the tokenizer decodes to the text the message holds (reasoning and content)
        int[] arr = ids.stream().mapToInt(Integer::intValue).toArray();
        String decoded = tokenizer.decode(arr, true);
        assertTrue(decoded.contains(s.content()), decoded + " vs " + s.content());
    }

    @Test
    void aGreedyAnswerDoesNotDependOnWhatSharesItsSteps() throws Exception {
        ObjectNode target = chat("What is the capital of France?", 32);
        List<Integer> alone = ids(http.post("/v1/chat/completions", target).json());
        assertEquals(32, alone.size());
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<List<Integer>>> others = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                ObjectNode o = chat("Other request number " + i + " with a longer prompt " + "x ".repeat(20 * i), 24 + i);
                if (i % 2 == 0) {
                    o.put("temperature", 1.0);
                    o.put("seed", i);
                }
                others.add(pool.submit(() -> ids(http.post("/v1/chat/completions", o).json())));
            }
            List<Future<List<Integer>>> targets = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                targets.add(pool.submit(() -> ids(http.post("/v1/chat/completions", target).json())));
            }
            ObjectNode streamed = target.deepCopy().put("stream", true);
            Future<Streamed> st = pool.submit(() -> collect(http.stream("/v1/chat/completions", streamed)));
            for (Future<List<Integer>> f : targets) {
                assertEquals(alone, f.get(), "greedy ids under load equal those alone");
            }
            assertEquals(alone, st.get().ids(), "streamed under load");
            for (Future<List<Integer>> f : others) {
                assertFalse(f.get().isEmpty());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void promptIsTheChatTemplatesAndReasoningCanBeTurnedOff() {
        ObjectNode on = chat("Hello there", 2);
        ObjectNode off = chat("Hello there", 2);
        off.putObject("chat_template_kwargs").put("enable_thinking", false);
        ObjectNode none = chat("Hello there", 2).put("reasoning_effort", "none");
        int pOn = http.post("/v1/chat/completions", on).json().get("usage").get("prompt_tokens").asInt();
        int pOff = http.post("/v1/chat/completions", off).json().get("usage").get("prompt_tokens").asInt();
        int pNone = http.post("/v1/chat/completions", none).json().get("usage").get("prompt_tokens").asInt();
        ChatRequest req = ChatRequest.parse(on);
        assertEquals(tokenizer.encode(template.render(req, true), true, true).length, pOn, "reasoning on by default");
        assertEquals(tokenizer.encode(template.render(req, false), true, true).length, pOff);
        assertEquals(pOff, pNone, "reasoning_effort none = enable_thinking false");
        assertNotEquals(pOn, pOff);
    }

    @Test
    void stopStringsCutTheTextAndAreNotReturned() {
        ObjectNode b = Http.JSON.createObjectNode().put("prompt", "Once upon a time").put("max_tokens", 40).put("temperature", 0);
        Http.Reply full = http.post("/v1/completions", b);
        assertEquals(200, full.status(), full.text());
        String text = full.json().get("choices").get(0).get("text").asText();
        assertTrue(text.length() > 12, text);
        String stop = text.substring(8, 11);
        int at = text.indexOf(stop);
        Http.Reply cut = http.post("/v1/completions", b.deepCopy().put("stop", stop));
        assertEquals(text.substring(0, at), cut.json().get("choices").get(0).get("text").asText());
        assertEquals("stop", cut.json().get("choices").get(0).get("finish_reason").asText());
        // the same through a stream
        List<String> ev = http.stream("/v1/completions", b.deepCopy().put("stop", stop).put("stream", true));
        StringBuilder sb = new StringBuilder();
        String finish = null;
        for (String e : ev.subList(0, ev.size() - 1)) {
            JsonNode c = Http.parse(e).get("choices").get(0);
            sb.append(c.get("text").asText());
            if (c.hasNonNull("finish_reason")) {
                finish = c.get("finish_reason").asText();
            }
        }
        assertEquals(text.substring(0, at), sb.toString());
        assertEquals("stop", finish);
        // chat: a stop string ends the message too
        ObjectNode c = chat("Say something", 30);
        String content = http.post("/v1/chat/completions", c).json().get("choices").get(0).get("message").get("content").asText();
        if (content.length() > 6) {
            String s2 = content.substring(3, 5);
            JsonNode cut2 = http.post("/v1/chat/completions", c.deepCopy().put("stop", s2)).json().get("choices").get(0);
            assertEquals(content.substring(0, content.indexOf(s2)), cut2.get("message").get("content").asText());
            assertEquals("stop", cut2.get("finish_reason").asText());
        }
    }

    @Test
    void completionsTakeTextOrTokenIds() {
        int[] ids = tokenizer.encode("Once upon a time", true, true);
        ArrayNode arr = Http.JSON.createArrayNode();
        for (int id : ids) {
            arr.add(id);
        }
        ObjectNode a = Http.JSON.createObjectNode().put("prompt", "Once upon a time").put("max_tokens", 12).put("temperature", 0);
        ObjectNode b = Http.JSON.createObjectNode().put("max_tokens", 12).put("temperature", 0);
        b.set("prompt", arr);
        JsonNode ra = http.post("/v1/completions", a).json();
        JsonNode rb = http.post("/v1/completions", b).json();
        assertEquals("text_completion", ra.get("object").asText());
        assertEquals(ids.length, ra.get("usage").get("prompt_tokens").asInt());
        assertEquals(ra.get("choices").get(0).get("text"), rb.get("choices").get(0).get("text"));
        assertEquals("length", ra.get("choices").get(0).get("finish_reason").asText());
    }

    @Test
    void logprobsListTheBestAlternativesAndLogitBiasMovesTheChoice() {
        ObjectNode b = chat("Pick a word", 3).put("top_logprobs", 3);
        JsonNode r = http.post("/v1/chat/completions", b).json();
        JsonNode first = r.get("choices").get(0).get("logprobs").get("content").get(0);
        JsonNode alts = first.get("top_logprobs");
        assertEquals(3, alts.size());
        assertEquals(first.get("id").asInt(), alts.get(0).get("id").asInt(), "greedy picks the best");
        assertTrue(alts.get(0).get("logprob").asDouble() >= alts.get(1).get("logprob").asDouble());
        assertTrue(alts.get(0).get("logprob").asDouble() <= 0);
        // banning the greedy token makes the runner-up the first token
        ObjectNode banned = b.deepCopy();
        banned.putObject("logit_bias").put(Integer.toString(first.get("id").asInt()), -100);
        JsonNode rb = http.post("/v1/chat/completions", banned).json();
        assertEquals(alts.get(1).get("id").asInt(), rb.get("choices").get(0).get("logprobs").get("content").get(0).get("id").asInt());
    }

    @Test
    void nChoicesAndSeeds() {
        ObjectNode b = chat("Write", 10).put("n", 3).put("temperature", 1.0).put("seed", 1234);
        JsonNode r = http.post("/v1/chat/completions", b).json();
        assertEquals(3, r.get("choices").size());
        for (int i = 0; i < 3; i++) {
            assertEquals(i, r.get("choices").get(i).get("index").asInt());
        }
        assertEquals(30, r.get("usage").get("completion_tokens").asInt());
        JsonNode again = http.post("/v1/chat/completions", b).json();
        for (int i = 0; i < 3; i++) {
            assertEquals(r.get("choices").get(i).get("logprobs"), again.get("choices").get(i).get("logprobs"), "same seed, same tokens");
        }
        // streamed: every choice ends once
        List<String> ev = http.stream("/v1/chat/completions", b.deepCopy().put("stream", true));
        int[] finishes = new int[3];
        for (String e : ev.subList(0, ev.size() - 1)) {
            JsonNode c = Http.parse(e).get("choices").get(0);
            if (c.hasNonNull("finish_reason")) {
                finishes[c.get("index").asInt()]++;
            }
        }
        assertEquals(List.of(1, 1, 1), List.of(finishes[0], finishes[1], finishes[2]));
    }

    @Test
    void toolsRoundTrip() {
        String body = """
            {"messages":[{"role":"user","content":"What is the weather in Paris?"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
                "function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"{\\"temp\\":21}"}],
             "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather of a city",
               "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],
             "max_tokens":8,"temperature":0}""";
        Http.Reply r = http.post("/v1/chat/completions", body);
        assertEquals(200, r.status(), r.text());
        ChatRequest req = ChatRequest.parse(body);
        assertEquals(tokenizer.encode(template.render(req, true), true, true).length,
            r.json().get("usage").get("prompt_tokens").asInt(), "the prompt is the template's rendering of the tool turn");
        ObjectNode named = (ObjectNode) Http.parse(body);
        named.putObject("tool_choice").put("type", "function").putObject("function").put("name", "get_weather");
        assertEquals(200, http.post("/v1/chat/completions", named).status());
        ObjectNode unknown = (ObjectNode) Http.parse(body);
        unknown.putObject("tool_choice").put("type", "function").putObject("function").put("name", "nope");
        assertError(http.post("/v1/chat/completions", unknown), 400, "invalid_request_error", "tool_choice");
    }

    @Test
    void responseFormatConstrainsTheAnswerToTheSchema() {
        ObjectNode b = chat("Give me a record", 80);
        ObjectNode js = b.putObject("response_format").put("type", "json_schema").putObject("json_schema");
        js.put("name", "rec").put("strict", true);
        ObjectNode props = js.putObject("schema").put("type", "object").putObject("properties");
        props.putObject("id").put("type", "integer");
        props.putObject("tag").put("type", "string").put("maxLength", 4);
        JsonNode r = http.post("/v1/chat/completions", b).json();
        JsonNode choice = r.get("choices").get(0);
        assertEquals("stop", choice.get("finish_reason").asText(), r.toString());
        JsonNode rec = Http.parse(choice.get("message").get("content").asText());
        assertTrue(rec.get("id").isIntegralNumber() && rec.get("tag").isTextual() && rec.size() == 2, rec.toString());
        // streamed: the same answer
        Streamed s = collect(http.stream("/v1/chat/completions", b.deepCopy().put("stream", true)));
        assertEquals(choice.get("message").get("content").asText(), s.content());
        // json_object: some JSON object
        ObjectNode o = chat("Any object", 80);
        o.putObject("response_format").put("type", "json_object");
        JsonNode any = http.post("/v1/chat/completions", o).json().get("choices").get(0);
        if (any.get("finish_reason").asText().equals("stop")) {
            assertTrue(Http.parse(any.get("message").get("content").asText()).isObject());
        }
        // a schema keyword the grammar cannot enforce: 400 naming response_format
        ObjectNode bad = chat("x", 4);
        bad.putObject("response_format").put("type", "json_schema").putObject("json_schema").put("name", "s")
            .putObject("schema").put("type", "string").put("pattern", "^a");
        assertError(http.post("/v1/chat/completions", bad), 400, "invalid_request_error", "response_format");
    }

    @Test
    void tokenizeAndDetokenizeAreTheTokenizers() {
        Http.Reply t = http.post("/tokenize", "{\"content\":\"Hello world<turn|>\",\"with_pieces\":false}");
        int[] expected = tokenizer.encode("Hello world<turn|>", false, true);
        assertEquals(expected.length, t.json().get("tokens").size());
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], t.json().get("tokens").get(i).asInt());
        }
        Http.Reply d = http.post("/detokenize", "{\"tokens\":" + t.json().get("tokens") + "}");
        assertEquals("Hello world<turn|>", d.json().get("content").asText());
        Http.Reply p = http.post("/tokenize", "{\"content\":\"Hi\",\"with_pieces\":true,\"add_special\":true}");
        assertEquals(tokenizer.bosId(), p.json().get("tokens").get(0).get("id").asInt());
    }

    @Test
    void metricsCountRequestsAndTokens() {
        http.post("/v1/chat/completions", chat("count me", 3));
        Http.Reply m = http.get("/metrics");
        assertEquals(200, m.status());
        String t = m.text();
        for (String name : new String[] {"gemma_http_requests_total", "gemma_generated_tokens_total", "gemma_prompt_tokens_total",
            "gemma_queue_depth", "gemma_active_slots", "gemma_time_to_first_token_seconds", "gemma_inter_token_latency_seconds"}) {
            assertTrue(t.contains(name), name + " missing:\n" + t);
        }
        assertTrue(t.contains("path=\"/v1/chat/completions\"") && t.contains("status=\"200\""), t);
    }

    @Test
    void badRequestsGetOpenAiErrors() {
        String url = "/v1/chat/completions";
        assertError(http.post(url, "{not json"), 400, "invalid_request_error", null);
        assertError(http.post(url, "[1,2]"), 400, "invalid_request_error", null);
        assertError(http.post(url, "{}"), 400, "invalid_request_error", "messages");
        assertError(http.post(url, "{\"messages\":\"hi\"}"), 400, "invalid_request_error", "messages");
        assertError(http.post(url, "{\"messages\":[{\"role\":\"user\"}]}"), 400, "invalid_request_error", "messages");
        assertError(http.post(url, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":\"ten\"}"), 400,
            "invalid_request_error", "max_tokens");
        assertError(http.post(url, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":-1}"), 400,
            "invalid_request_error", "temperature");
        assertError(http.post(url, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":0}"), 400,
            "invalid_request_error", "n");
        assertError(http.post(url, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logit_bias\":{\"999999\":1}}"), 400,
            "invalid_request_error", "logit_bias");
        assertError(http.post(url, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_schema\"}}"),
            400, "invalid_request_error", "response_format");
        assertError(http.post(url, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://x\"}}]}]}"),
            400, "invalid_request_error", "messages");
        Http.Reply model = http.post(url, "{\"model\":\"gpt-4\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        assertError(model, 404, "invalid_request_error", "model");
        assertEquals("model_not_found", model.json().get("error").get("code").asText());
        assertEquals(200, http.post(url, "{\"model\":\"gemma-tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":1}").status(),
            "an alias is accepted");
        Http.Reply ctx = http.post(url, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":100000}");
        assertError(ctx, 400, "invalid_request_error", "max_tokens");
        String msg = ctx.json().get("error").get("message").asText();
        assertTrue(msg.contains("100000") && msg.contains(Integer.toString(CTX)), msg);
        assertError(http.post(url, "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "hello ".repeat(CTX) + "\"}]}"), 400,
            "invalid_request_error", "messages");
        assertError(http.get("/v1/nothing"), 404, "invalid_request_error", null);
        assertError(http.post("/v1/completions", "{\"max_tokens\":1}"), 400, "invalid_request_error", "prompt");
        assertError(http.post("/detokenize", "{\"tokens\":[-1]}"), 400, "invalid_request_error", "tokens");
        // max_tokens 0: no tokens, finish_reason length
        Http.Reply zero = http.post(url, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":0}");
        assertEquals(200, zero.status(), zero.text());
        assertEquals("length", zero.json().get("choices").get(0).get("finish_reason").asText());
        assertEquals(0, zero.json().get("usage").get("completion_tokens").asInt());
        // unknown fields are ignored
        assertEquals(200, http.post(url, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":1,\"whatever\":{}}").status());
    }
}
