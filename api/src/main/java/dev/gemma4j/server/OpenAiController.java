package dev.gemma4j.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemma4j.chat.ChatRequest;
import dev.gemma4j.chat.ChatRequestException;
import dev.gemma4j.chat.Gemma4OutputParser;
import dev.gemma4j.chat.UnsupportedContentException;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/**
 * The OpenAI-compatible endpoints and llama-server's tokenize/detokenize/health. Handlers only validate,
 * render and tokenize, then hand jobs to the {@link Scheduler}; they never call the engine. Bodies are read
 * as text and parsed with Jackson here, so that every malformed body gets an OpenAI-shaped 400.
 */
@Controller
final class OpenAiController {
    /** Strict JSON like the chat request model's: trailing garbage is an error. */
    static final ObjectMapper JSON = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

    private final ServerState state;

    OpenAiController(ServerState state) {
        this.state = state;
    }

    @Get(uri = "/health", produces = MediaType.APPLICATION_JSON)
    MutableHttpResponse<String> health() {
        if (state.model() == null) {
            return Errors.response(JSON, new ServerException(503, "unavailable_error", "loading", null, "Loading model"));
        }
        if (state.draining()) {
            return Errors.response(JSON, new ServerException(503, "unavailable_error", "shutting_down", null, "Shutting down"));
        }
        return HttpResponse.ok("{\"status\":\"ok\"}");
    }

    @Get(uri = "/metrics", produces = "text/plain; version=0.0.4; charset=utf-8")
    String metrics() {
        return state.metrics().scrape();
    }

    @Get(uri = "/v1/models", produces = MediaType.APPLICATION_JSON)
    String models() {
        ModelHost m = state.requireModel();
        ObjectNode o = JSON.createObjectNode();
        o.put("object", "list");
        ArrayNode data = o.putArray("data");
        ObjectNode e = data.addObject();
        e.put("id", m.id());
        e.put("object", "model");
        e.put("created", 0);
        e.put("owned_by", "gemma4j");
        ArrayNode aliases = e.putArray("aliases");
        m.names().stream().skip(1).forEach(aliases::add);
        ObjectNode meta = e.putObject("meta");
        meta.put("n_ctx_train", m.trainedContext());
        meta.put("n_ctx", state.scheduler().contextLength());
        meta.put("n_vocab", m.engine().config().vocabSize());
        meta.put("backend", m.backend());
        meta.put("slots", state.scheduler().slotCount());
        return o.toString();
    }

    @Get(uri = "/models", produces = MediaType.APPLICATION_JSON)
    String modelsAlias() {
        return models();
    }

    @Post(uri = "/v1/chat/completions", consumes = MediaType.ALL, produces = {MediaType.APPLICATION_JSON, MediaType.TEXT_EVENT_STREAM})
    Publisher<MutableHttpResponse<?>> chat(@Nullable @Body String body) {
        ModelHost m = state.requireModel();
        JsonNode root = parse(body);
        JsonNode rf = root.get("response_format");
        if (rf != null && !rf.isNull()) {
            JsonNode type = rf.isObject() ? rf.get("type") : null;
            if (type == null || !type.isTextual() || !type.textValue().equals("text")) {
                throw ServerException.badRequest("response_format",
                    "'response_format' of type " + (type != null ? type : "?") + " is not supported by this server (only \"text\")");
            }
        }
        GenerationParams p = GenerationParams.parse(root, m.engine().config().vocabSize());
        checkModel(p.model(), m);
        // a named function as tool_choice: the call is required and only that function may be called
        String forced = null;
        JsonNode tc = root.get("tool_choice");
        if (tc != null && tc.isObject()) {
            JsonNode fn = tc.path("function").path("name");
            if (!fn.isTextual()) {
                throw ServerException.badRequest("tool_choice", "'tool_choice' object must name a function: {\"type\": \"function\", \"function\": {\"name\": ...}}");
            }
            forced = fn.textValue();
            root = ((ObjectNode) root.deepCopy()).put("tool_choice", "required");
        }
        ChatRequest req;
        try {
            req = ChatRequest.parse(root);
        } catch (UnsupportedContentException e) {
            throw ServerException.badRequest("messages", e.getMessage());
        } catch (ChatRequestException e) {
            throw ServerException.badRequest(paramOf(e.getMessage()), e.getMessage());
        }
        if (forced != null) {
            String name = forced;
            if (req.tools().stream().noneMatch(t -> t.name().equals(name))) {
                throw ServerException.badRequest("tool_choice", "'tool_choice' names function '" + name + "', which is not in 'tools'");
            }
        }
        // reasoning: on unless the request turns it off, as llama-server
        boolean thinking = req.thinking(true);
        String effort = GenerationParams.optString(root, "reasoning_effort");
        if (req.enableThinking() == null && "none".equals(effort)) {
            thinking = false;
        }
        String prompt;
        try {
            prompt = m.template().render(req, thinking);
        } catch (IllegalArgumentException e) {
            throw ServerException.badRequest("messages", e.getMessage());
        }
        int[] ids = m.tokenizer().encode(prompt, true, true);
        Gemma4OutputParser.Options po = Gemma4OutputParser.Options.forRequest(req);
        if (forced != null) {
            po = new Gemma4OutputParser.Options(Set.of(forced), po.parallelToolCalls(), po.extractReasoning());
        }
        return start(RequestRun.Kind.CHAT, m, p, po, ids);
    }

    @Post(uri = "/chat/completions", consumes = MediaType.ALL, produces = {MediaType.APPLICATION_JSON, MediaType.TEXT_EVENT_STREAM})
    Publisher<MutableHttpResponse<?>> chatAlias(@Nullable @Body String body) {
        return chat(body);
    }

    @Post(uri = "/v1/completions", consumes = MediaType.ALL, produces = {MediaType.APPLICATION_JSON, MediaType.TEXT_EVENT_STREAM})
    Publisher<MutableHttpResponse<?>> completions(@Nullable @Body String body) {
        ModelHost m = state.requireModel();
        JsonNode root = parse(body);
        GenerationParams p = GenerationParams.parse(root, m.engine().config().vocabSize());
        checkModel(p.model(), m);
        JsonNode pr = root.get("prompt");
        int[] ids = promptIds(pr, m, "prompt", true);
        return start(RequestRun.Kind.TEXT, m, p, null, ids);
    }

    @Post(uri = "/completions", consumes = MediaType.ALL, produces = {MediaType.APPLICATION_JSON, MediaType.TEXT_EVENT_STREAM})
    Publisher<MutableHttpResponse<?>> completionsAlias(@Nullable @Body String body) {
        return completions(body);
    }

    /** llama-server's {@code POST /tokenize}: {"content", "add_special", "parse_special", "with_pieces"} → {"tokens"}. */
    @Post(uri = "/tokenize", consumes = MediaType.ALL, produces = MediaType.APPLICATION_JSON)
    String tokenize(@Nullable @Body String body) {
        ModelHost m = state.requireModel();
        JsonNode root = parse(body);
        String content = GenerationParams.optString(root, "content");
        if (content == null) {
            throw ServerException.badRequest("content", "'content' is required");
        }
        boolean addSpecial = GenerationParams.optBool(root, "add_special", false);
        boolean parseSpecial = GenerationParams.optBool(root, "parse_special", true);
        boolean pieces = GenerationParams.optBool(root, "with_pieces", false);
        int[] ids = m.tokenizer().encode(content, addSpecial, parseSpecial);
        ObjectNode o = JSON.createObjectNode();
        ArrayNode t = o.putArray("tokens");
        for (int id : ids) {
            if (pieces) {
                ObjectNode e = t.addObject();
                e.put("id", id);
                byte[] b = m.tokenizer().pieceBytes(id, true);
                String s = new String(b, StandardCharsets.UTF_8);
                if (s.contains("\uFFFD")) {
                    ArrayNode a = e.putArray("piece");
                    for (byte x : b) {
                        a.add(x & 0xff);
                    }
                } else {
                    e.put("piece", s);
                }
            } else {
                t.add(id);
            }
        }
        return o.toString();
    }

    /** llama-server's {@code POST /detokenize}: {"tokens": [ids]} → {"content"}. */
    @Post(uri = "/detokenize", consumes = MediaType.ALL, produces = MediaType.APPLICATION_JSON)
    String detokenize(@Nullable @Body String body) {
        ModelHost m = state.requireModel();
        JsonNode root = parse(body);
        JsonNode t = root.get("tokens");
        int[] ids = t == null || t.isNull() ? new int[0] : tokenIds(t, m, "tokens");
        ObjectNode o = JSON.createObjectNode();
        o.put("content", m.tokenizer().decode(ids, true));
        return o.toString();
    }

    private Publisher<MutableHttpResponse<?>> start(RequestRun.Kind kind, ModelHost m, GenerationParams p,
                                                    Gemma4OutputParser.Options po, int[] ids) {
        Scheduler s = state.scheduler();
        int ctx = s.contextLength();
        if (ids.length >= ctx) {
            throw new ServerException(400, "invalid_request_error", "context_length_exceeded", "messages",
                "the prompt (" + ids.length + " tokens) does not fit the context length (" + ctx + " tokens)");
        }
        int max = p.maxTokens() != null ? p.maxTokens() : ctx - ids.length;
        if ((long) ids.length + max > ctx) {
            throw new ServerException(400, "invalid_request_error", "context_length_exceeded", "max_tokens",
                "the prompt (" + ids.length + " tokens) plus max_tokens (" + max + ") exceed the context length ("
                    + ctx + " tokens)");
        }
        RequestRun run = new RequestRun(kind, JSON, m.tokenizer(), p, po, p.model() != null ? p.model() : m.id(), ids.length);
        var timeout = state.options().requestTimeout();
        long deadline = timeout == null ? Long.MAX_VALUE : System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeout.toMillis());
        if (!s.submit(run.jobs(ids, max, deadline))) {
            if (state.draining()) {
                throw new ServerException(503, "server_error", "shutting_down", null, "the server is shutting down");
            }
            throw new ServerException(429, "rate_limit_error", "queue_full", null,
                "the server is busy (all " + s.slotCount() + " slots and the queue are taken); retry later");
        }
        if (p.stream()) {
            return Mono.just(HttpResponse.ok(run.events()).contentType(MediaType.TEXT_EVENT_STREAM_TYPE));
        }
        return run.body()
            .<MutableHttpResponse<?>>map(b -> HttpResponse.ok(b).contentType(MediaType.APPLICATION_JSON_TYPE))
            .onErrorResume(ServerException.class, e -> Mono.just(Errors.response(JSON, e)));
    }

    private static void checkModel(String name, ModelHost m) {
        if (name != null && !name.isEmpty() && !m.answersTo(name)) {
            throw ServerException.notFound("model_not_found", "model",
                "The model '" + name + "' does not exist; this server serves " + String.join(", ", m.names()));
        }
    }

    static JsonNode parse(String body) {
        if (body == null || body.isBlank()) {
            throw ServerException.badRequest(null, "the request body is empty; a JSON object is expected");
        }
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw ServerException.badRequest(null, "the request body is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw ServerException.badRequest(null, "the request body must be a JSON object");
        }
        return root;
    }

    /** The field a chat-request message names ("messages[2]: ..." → messages), for the error's param. */
    private static String paramOf(String message) {
        for (String f : new String[] {"messages", "tools", "tool_choice", "parallel_tool_calls", "chat_template_kwargs"}) {
            if (message.contains(f)) {
                return f;
            }
        }
        return message.contains("enable_thinking") ? "chat_template_kwargs" : null;
    }

    /** A completions prompt: a string (BOS added, special texts parsed) or token ids. */
    private static int[] promptIds(JsonNode pr, ModelHost m, String field, boolean addSpecial) {
        if (pr == null || pr.isNull()) {
            throw ServerException.badRequest(field, "'" + field + "' is required");
        }
        int[] ids;
        if (pr.isTextual()) {
            ids = m.tokenizer().encode(pr.textValue(), addSpecial, true);
        } else if (pr.isArray() && pr.size() == 1 && pr.get(0).isTextual()) {
            ids = m.tokenizer().encode(pr.get(0).textValue(), addSpecial, true);
        } else if (pr.isArray()) {
            ids = tokenIds(pr, m, field);
        } else {
            throw ServerException.badRequest(field, "'" + field + "' must be a string or an array of token ids");
        }
        if (ids.length == 0) {
            throw ServerException.badRequest(field, "'" + field + "' is empty");
        }
        return ids;
    }

    private static int[] tokenIds(JsonNode a, ModelHost m, String field) {
        if (!a.isArray()) {
            throw ServerException.badRequest(field, "'" + field + "' must be an array of token ids");
        }
        int vocab = m.engine().config().vocabSize();
        int[] ids = new int[a.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode v = a.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0 || v.intValue() >= vocab) {
                throw ServerException.badRequest(field, "'" + field + "'[" + i + "] is not a token id (0.." + (vocab - 1) + ")");
            }
            ids[i] = v.intValue();
        }
        return ids;
    }
}
