package dev.gemma4j.server;

import static dev.langchain4j.model.chat.Capability.RESPONSE_FORMAT_JSON_SCHEMA;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.langchain4j.http.client.HttpClient;
import dev.langchain4j.http.client.HttpClientBuilder;
import dev.langchain4j.http.client.HttpRequest;
import dev.langchain4j.http.client.SuccessfulHttpResponse;
import dev.langchain4j.http.client.jdk.JdkHttpClientBuilder;
import dev.langchain4j.http.client.sse.ServerSentEventListener;
import dev.langchain4j.http.client.sse.ServerSentEventParser;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.service.AiServices;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * LangChain4j's OpenAI module (a real Java client) against the server: a plain chat, and AiServices' structured
 * output, where LangChain4j derives a JSON schema from a record, sends it as {@code response_format} and parses the
 * answer into the record itself. The tiny model has random weights, so a populated record means the server held
 * decoding to the schema. The request bodies LangChain4j put on the wire are recorded, so that the structured
 * calls are known to have asked for {@code json_schema}.
 */
class ServeLangChain4jTest {

    record Person(String name, int age, boolean member) {
    }

    enum Colour { RED, GREEN, BLUE }

    /** Required components: LangChain4j gives them plain types, where it gives the others {@code [type, "null"]}. */
    record Pet(@JsonProperty(required = true) String name, @JsonProperty(required = true) Colour colour) {
    }

    record Household(@JsonProperty(required = true) List<Pet> pets, Colour door) {
    }

    interface Extractor {
        Person person(String text);

        Household household(String text);
    }

    /** LangChain4j's JDK client, with every request body it sends kept. */
    static final class Recording implements HttpClientBuilder {
        final JdkHttpClientBuilder jdk = new JdkHttpClientBuilder();
        final List<String> bodies = new CopyOnWriteArrayList<>();
        final List<String> answers = new CopyOnWriteArrayList<>();

        @Override
        public Duration connectTimeout() {
            return jdk.connectTimeout();
        }

        @Override
        public HttpClientBuilder connectTimeout(Duration d) {
            jdk.connectTimeout(d);
            return this;
        }

        @Override
        public Duration readTimeout() {
            return jdk.readTimeout();
        }

        @Override
        public HttpClientBuilder readTimeout(Duration d) {
            jdk.readTimeout(d);
            return this;
        }

        @Override
        public HttpClient build() {
            HttpClient inner = jdk.build();
            return new HttpClient() {
                @Override
                public SuccessfulHttpResponse execute(HttpRequest r) {
                    bodies.add(r.body());
                    SuccessfulHttpResponse res = inner.execute(r);
                    answers.add(res.body());
                    return res;
                }

                @Override
                public void execute(HttpRequest r, ServerSentEventParser p, ServerSentEventListener l) {
                    bodies.add(r.body());
                    inner.execute(r, p, l);
                }
            };
        }
    }

    private static OpenAiChatModel.OpenAiChatModelBuilder model(GemmaServer server, Recording http) {
        return OpenAiChatModel.builder()
            .baseUrl(server.uri() + "/v1")
            .apiKey("k-123")
            .modelName("tiny.gguf")
            .temperature(0.0)
            .maxRetries(0)
            .timeout(Duration.ofMinutes(5))
            .httpClientBuilder(http);
    }

    @Test
    void aPlainChatAnswersAsTheServerDoes() {
        Recording rec = new Recording();
        try (GemmaServer server = TestModels.start(ServerOptions.defaults().withApiKey("k-123"), 512);
             Http http = new Http(server.uri(), "k-123")) {
            ChatResponse answer = model(server, rec).maxTokens(24).build().chat(
                dev.langchain4j.data.message.UserMessage.from("Tell me about the sea."));
            String theirs = answer.aiMessage().text();
            assertNotNull(theirs);
            assertFalse(theirs.isEmpty());

            String body = "{\"model\":\"tiny.gguf\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about the sea.\"}],"
                + "\"max_tokens\":24,\"temperature\":0}";
            Http.Reply direct = http.post("/v1/chat/completions", body);
            assertEquals(200, direct.status(), direct.text());
            JsonNode choice = direct.json().get("choices").get(0);
            assertEquals(choice.get("message").get("content").asText(), theirs);
            assertEquals(direct.json().get("usage").get("completion_tokens").asInt(),
                answer.tokenUsage().outputTokenCount());
            assertEquals("length", choice.get("finish_reason").asText());
            assertEquals(dev.langchain4j.model.output.FinishReason.LENGTH, answer.finishReason());

            assertEquals(1, rec.bodies.size());
            JsonNode sent = Http.parse(rec.bodies.get(0));
            assertFalse(sent.has("response_format"), sent.toString());
        }
    }

    @Test
    void aiServicesStructuredOutputFillsRecords() {
        Recording rec = new Recording();
        try (GemmaServer server = TestModels.start(ServerOptions.defaults().withApiKey("k-123"), 2048)) {
            OpenAiChatModel chat = model(server, rec)
                .maxTokens(1200)
                .supportedCapabilities(RESPONSE_FORMAT_JSON_SCHEMA)
                .strictJsonSchema(true)
                .build();
            Extractor ex = AiServices.create(Extractor.class, chat);

            // LangChain4j's default for a component: nullable, {"type":["string","null"]}; the record takes what the
            // server wrote, which LangChain4j's own parser read (a primitive gets its default for null)
            Person p = ex.person("Ada is 36 and a member of the club.");
            JsonNode ps = assertSchemaSent(rec.bodies.get(0), "Person", "name", "age", "member");
            assertEquals(Http.parse("[\"string\",\"null\"]"), ps.get("properties").get("name").get("type"));
            JsonNode pj = content(rec.answers.get(0), "name", "age", "member");
            assertTrue(pj.get("name").isTextual() || pj.get("name").isNull(), pj.toString());
            assertTrue(pj.get("age").isIntegralNumber() || pj.get("age").isNull(), pj.toString());
            assertTrue(pj.get("member").isBoolean() || pj.get("member").isNull(), pj.toString());
            assertEquals(new Person(pj.get("name").isNull() ? null : pj.get("name").asText(), pj.get("age").asInt(),
                pj.get("member").asBoolean()), p);

            // required components (plain types): a list of objects holding an enum, and a nullable enum
            Household h = ex.household("Two cats, Tom (red) and Kit (blue); the door is green.");
            JsonNode hs = assertSchemaSent(rec.bodies.get(1), "Household", "pets", "door");
            JsonNode pets = hs.get("properties").get("pets");
            assertEquals("array", pets.get("type").asText(), hs.toString());
            assertEquals("string", pets.get("items").get("properties").get("colour").get("type").asText(), hs.toString());
            assertEquals(Http.parse("[\"RED\",\"GREEN\",\"BLUE\"]"), hs.get("properties").get("door").get("enum"));
            JsonNode hj = content(rec.answers.get(1), "pets", "door");
            assertTrue(hj.get("pets").isArray(), hj.toString());
            assertEquals(hj.get("pets").size(), h.pets().size(), hj.toString());
            for (int i = 0; i < h.pets().size(); i++) {
                JsonNode pet = hj.get("pets").get(i);
                assertEquals(2, pet.size(), pet.toString());
                assertEquals(pet.get("name").asText(), h.pets().get(i).name());
                assertEquals(pet.get("colour").asText(), h.pets().get(i).colour().name());
            }
            assertEquals(hj.get("door").isNull() ? null : hj.get("door").asText(), h.door() == null ? null : h.door().name());
            assertEquals(2, rec.bodies.size());
        }
    }

    /** The answer's content is a JSON object with exactly {@code props}, and the generation stopped by itself. */
    private static JsonNode content(String answer, String... props) {
        JsonNode choice = Http.parse(answer).get("choices").get(0);
        assertEquals("stop", choice.get("finish_reason").asText(), choice.toString());
        JsonNode o = Http.parse(choice.get("message").get("content").asText());
        for (String p : props) {
            assertTrue(o.has(p), o.toString());
        }
        assertEquals(props.length, o.size(), o.toString());
        return o;
    }

    /** The body asked for a strict json_schema {@code name} whose object has exactly {@code props}, all required. */
    private static JsonNode assertSchemaSent(String body, String name, String... props) {
        JsonNode sent = Http.parse(body);
        JsonNode rf = sent.get("response_format");
        assertNotNull(rf, sent.toString());
        assertEquals("json_schema", rf.get("type").asText(), rf.toString());
        assertTrue(rf.get("json_schema").get("strict").asBoolean(), rf.toString());
        assertEquals(name, rf.get("json_schema").get("name").asText(), rf.toString());
        JsonNode schema = rf.get("json_schema").get("schema");
        assertEquals("object", schema.get("type").asText(), schema.toString());
        for (String p : props) {
            assertTrue(schema.get("properties").has(p), schema.toString());
        }
        assertEquals(props.length, schema.get("properties").size(), schema.toString());
        assertEquals(props.length, schema.get("required").size(), schema.toString());
        return schema;
    }
}
