package dev.gemma4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The official OpenAI Node.js client ({@code openai} on npm, installed by tools/reference/install.sh) against
 * the server: chat streamed and not (same token ids), tool turns, a named tool_choice, completions, models,
 * and the client's own error classes for our error bodies (it reads status, code, type and param).
 */
class ServeOpenAiClientTest {

    static Path referenceDir() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("tools/reference/openai-client.mjs"))) {
            p = p.getParent();
        }
        if (p == null || !Files.isDirectory(p.resolve("tools/reference/node_modules/openai"))) {
            throw new IllegalStateException("the openai npm client is not installed: run tools/reference/install.sh");
        }
        return p.resolve("tools/reference");
    }

    @Test
    void theOfficialClientWorksAgainstTheServer() throws Exception {
        Path dir = referenceDir();
        try (GemmaServer server = TestModels.start(ServerOptions.defaults().withApiKey("k-123"), 512);
             Http http = new Http(server.uri(), "k-123")) {
            Path out = Files.createTempFile("openai-out", ".json");
            Path err = Files.createTempFile("openai-err", ".txt");
            Process p = new ProcessBuilder("node", dir.resolve("openai-client.mjs").toString(), server.uri() + "/v1", "k-123")
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            assertTrue(p.waitFor(300, TimeUnit.SECONDS), "node did not finish");
            assertEquals(0, p.exitValue(), Files.readString(err, StandardCharsets.UTF_8));
            JsonNode r = Http.parse(Files.readString(out, StandardCharsets.UTF_8));

            assertEquals("tiny.gguf", r.get("models").get(0).asText());
            JsonNode chat = r.get("chat");
            JsonNode stream = r.get("stream");
            assertEquals("chat.completion", chat.get("object").asText());
            assertEquals(24, chat.get("ids").size());
            assertEquals(chat.get("ids"), stream.get("ids"), "streamed = non-streamed, token for token");
            assertEquals(chat.get("content").asText(), stream.get("content").asText());
            assertEquals(chat.get("finish").asText(), stream.get("finish").asText());
            // the same prompt again: the streamed request reuses all of it but its last token from the prompt cache
            JsonNode streamUsage = stream.get("usage").deepCopy();
            assertEquals(chat.get("usage").get("prompt_tokens").asInt() - 1,
                ((com.fasterxml.jackson.databind.node.ObjectNode) streamUsage).remove("prompt_tokens_details").get("cached_tokens").asInt());
            JsonNode chatUsage = chat.get("usage").deepCopy();
            ((com.fasterxml.jackson.databind.node.ObjectNode) chatUsage).remove("prompt_tokens_details");
            assertEquals(chatUsage, streamUsage);
            // the same request through Micronaut's client gives the same tokens
            String body = "{\"model\":\"tiny.gguf\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about the sea.\"}],"
                + "\"max_tokens\":24,\"temperature\":0,\"logprobs\":true}";
            List<Integer> ours = ServeApiTest.ids(http.post("/v1/chat/completions", body).json());
            List<Integer> theirs = new ArrayList<>();
            chat.get("ids").forEach(n -> theirs.add(n.asInt()));
            assertEquals(ours, theirs);

            assertTrue(r.get("tools").get("promptTokens").asInt() > 0);
            assertTrue(r.get("toolsNamedStream").get("chunks").asInt() >= 2);
            assertEquals("text_completion", r.get("completion").get("object").asText());
            assertEquals("length", r.get("completion").get("finish").asText());

            // response_format json_schema: the answer is JSON of the schema (strict: every property present)
            assertEquals("stop", r.get("structured").get("finish").asText(), r.get("structured").toString());
            JsonNode city = Http.parse(r.get("structured").get("content").asText());
            assertTrue(city.get("name").isTextual() && city.get("name").asText().codePointCount(0, city.get("name").asText().length()) <= 6, city.toString());
            assertTrue(city.get("sunny").isBoolean(), city.toString());

            JsonNode e = r.get("errors");
            assertError(e.get("unknownModel"), "NotFoundError", 404, "model_not_found");
            assertEquals("model", e.get("unknownModel").get("param").asText());
            assertError(e.get("badTemperature"), "BadRequestError", 400, null);
            assertEquals("temperature", e.get("badTemperature").get("param").asText());
            assertError(e.get("jsonSchema"), "BadRequestError", 400, null);
            assertEquals("response_format", e.get("jsonSchema").get("param").asText());
            assertError(e.get("image"), "BadRequestError", 400, null);
            assertError(e.get("wrongKey"), "AuthenticationError", 401, "invalid_api_key");
            assertError(e.get("streamUnknownModel"), "NotFoundError", 404, "model_not_found");
        }
    }

    static void assertError(JsonNode e, String cls, int status, String code) {
        assertTrue(e.get("thrown").asBoolean(), e.toString());
        assertEquals(cls, e.get("class").asText(), e.toString());
        assertEquals(status, e.get("status").asInt(), e.toString());
        if (code != null) {
            assertEquals(code, e.get("code").asText(), e.toString());
        }
        assertFalse(e.get("message").asText().isEmpty());
    }
}
