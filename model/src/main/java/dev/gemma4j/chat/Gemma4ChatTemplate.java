package dev.gemma4j.chat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Renders a chat-completions request into Gemma 4's prompt text exactly as llama.cpp (80fb11a,
 * llama-server with {@code --jinja}, {@code /apply-template}) renders a Gemma 4 chat template: the
 * template's own logic (spec §6.1–6.4) plus llama-server's preprocessing and post-processing (§8.5, §8.6).
 * Two template revisions are reproduced ({@link Revision}): the official one and the initial one shipped
 * with the weights; {@link #forTemplate} picks by the template text a GGUF carries and refuses any other.
 * The output has no leading {@code <bos>} text: the tokenizer adds BOS.
 *
 * <p><b>Why a hand-written renderer and not a Java Jinja library.</b> Byte-exact parity is with
 * llama.cpp's own Jinja engine, not with Python's Jinja2, and the prompt depends on that engine's details:
 * floats printed like {@code printf("%f")} with trailing zeros trimmed, {@code null} printed as nothing,
 * {@code upper} on a list giving its repr, ASCII-only {@code upper} and {@code trim}, code-point
 * {@code dictsort}; and on llama-server's request preprocessing (content parts joined with newlines,
 * {@code developer} mapped to {@code system}, arguments parsed, empty fields dropped, prefill, the extra
 * {@code <|turn>model\n}). The available Java engines (Jinjava, Pebble) follow neither, so a library would
 * need this same layer of fix-ups plus its own differences, a large dependency for one template. The
 * Gemma 4 template is fixed text, so it is reproduced here as code and checked against llama-server's
 * renderings (128 recorded conversations over both revisions); templates are recognised by content hash
 * and anything else is refused rather than rendered approximately.
 */
public final class Gemma4ChatTemplate {

    /** The template revisions reproduced here, recognised by the SHA-256 of their stripped text. */
    public enum Revision {
        /**
         * The official template (llama.cpp {@code models/templates/google-gemma-4-31B-it.jinja}): tool results
         * from OpenAI {@code role: tool} messages, reasoning kept before tool calls, continued model turns.
         */
        OFFICIAL("1d35a24a2a63cc600c0cab43628a6df4cd3318e959b03307cf5f9f7e29ecf783"),
        /**
         * The initial April-2026 template shipped with the model weights (the one in llama.cpp's
         * {@code models/ggml-vocab-gemma-4.gguf}): results only as {@code tool_responses}, which llama.cpp
         * builds from {@code role: tool} messages (spec §6.3); no reasoning in history.
         */
        INITIAL("58c66fdee4afa29786fa0925a4c3659c8ebc28a2db93da6ae479d7d5886ce48f");

        private final String sha256;

        Revision(String sha256) {
            this.sha256 = sha256;
        }
    }

    private static final String OPENAI_MARKER = "{#- OpenAI Chat Completions:";
    private static final String GEMMA4_MARKER = "'<|tool_call>call:'";
    private static final Set<String> STANDARD_KEYS = Set.of("description", "type", "properties", "required", "nullable");

    private static final String TURN_END = "<turn|>\n";
    private static final String MODEL_TURN = "<|turn>model\n";

    private static final Gemma4ChatTemplate OFFICIAL = new Gemma4ChatTemplate(Revision.OFFICIAL);
    private static final Gemma4ChatTemplate INITIAL = new Gemma4ChatTemplate(Revision.INITIAL);

    private final Revision revision;

    private Gemma4ChatTemplate(Revision revision) {
        this.revision = revision;
    }

    /** The official Gemma 4 template. */
    public static Gemma4ChatTemplate official() {
        return OFFICIAL;
    }

    /** The initial Gemma 4 template revision. */
    public static Gemma4ChatTemplate initial() {
        return INITIAL;
    }

    /**
     * Identifies a template text (as embedded in a GGUF's {@code tokenizer.chat_template}).
     *
     * @throws UnsupportedChatTemplateException for any other template, including older Gemma 4 revisions
     */
    public static Gemma4ChatTemplate forTemplate(String templateText) {
        if (templateText == null || templateText.isBlank()) {
            throw new UnsupportedChatTemplateException("the model has no chat template (tokenizer.chat_template)");
        }
        String hash = sha256(templateText.strip());
        for (Revision r : Revision.values()) {
            if (hash.equals(r.sha256)) {
                return r == Revision.OFFICIAL ? OFFICIAL : INITIAL;
            }
        }
        if (templateText.contains(GEMMA4_MARKER)) {
            String kind = templateText.contains(OPENAI_MARKER) ? "a revision of the official Gemma 4 template"
                : "an older Gemma 4 revision (without the 'OpenAI Chat Completions' tool-result handling)";
            throw new UnsupportedChatTemplateException("the chat template is " + kind + " that gemma4j does not "
                + "reproduce (sha256 " + hash + "); supported: the official template and the initial one shipped "
                + "with the weights");
        }
        throw new UnsupportedChatTemplateException("the chat template is not a Gemma 4 template (sha256 " + hash + ")");
    }

    /** Which template revision this renderer reproduces. */
    public Revision revision() {
        return revision;
    }

    /**
     * Renders the prompt for a request: with a generation prompt, or, when the last message is from the
     * assistant, as a prefill that the model continues.
     *
     * @param thinking whether thinking is enabled (the request's {@code enable_thinking}, a server default,
     *                 or a CLI override)
     * @throws ChatRequestException for the requests llama-server refuses with 400 (two assistant messages at
     *                              the end; a final assistant message with tool calls)
     */
    public String render(ChatRequest request, boolean thinking) {
        List<ChatMessage> messages = request.messages();
        ChatMessage last = messages.get(messages.size() - 1);
        if (last.role() != ChatMessage.Role.ASSISTANT) {
            String prompt = renderRevision(messages, request.tools(), thinking, true);
            if (prompt.endsWith(TURN_END)) {
                // llama.cpp: the template adds no generation prompt after a content + tool-call turn
                prompt += MODEL_TURN;
            }
            return prompt;
        }
        if (messages.size() >= 2 && messages.get(messages.size() - 2).role() == ChatMessage.Role.ASSISTANT) {
            throw new ChatRequestException("Cannot have 2 or more assistant messages at the end of the list.");
        }
        if (last.hasToolCalls()) {
            throw new ChatRequestException("Cannot continue an assistant message that contains tool calls.");
        }
        if (messages.size() == 1) {
            throw new ChatRequestException("a conversation cannot start with an assistant message to continue");
        }
        StringBuilder prompt = new StringBuilder(
            renderRevision(messages.subList(0, messages.size() - 1), request.tools(), thinking, false));
        if (prompt.toString().endsWith(TURN_END)) {
            prompt.append(MODEL_TURN);
        }
        String reasoning = last.reasoningContent() == null ? "" : last.reasoningContent();
        prompt.append("<|channel>thought\n").append(reasoning);
        boolean reasoningOnly = !reasoning.isEmpty() && last.content().isEmpty();
        if (!reasoningOnly) {
            prompt.append("<channel|>").append(last.content());
        }
        return prompt.toString();
    }

    private String renderRevision(List<ChatMessage> messages, List<ToolDefinition> tools, boolean thinking,
                                  boolean addGenerationPrompt) {
        return revision == Revision.OFFICIAL
            ? renderTemplate(messages, tools, thinking, addGenerationPrompt)
            : renderInitial(messages, tools, thinking, addGenerationPrompt);
    }

    // ---- the official template -------------------------------------------------------------------------

    private enum Emitted { NONE, THINK, TOOL, TOOL_CALL, TOOL_RESPONSE }

    private String renderTemplate(List<ChatMessage> all, List<ToolDefinition> tools, boolean thinking,
                                  boolean addGenerationPrompt) {
        StringBuilder out = new StringBuilder();
        Emitted prev = Emitted.NONE;
        List<ChatMessage> messages = all;
        boolean firstIsSystem = !all.isEmpty() && isSystem(all.get(0));
        if (thinking || !tools.isEmpty() || firstIsSystem) {
            out.append("<|turn>system\n");
            if (thinking) {
                out.append("<|think|>\n");
                prev = Emitted.THINK;
            }
            if (firstIsSystem) {
                out.append(TemplateValues.trim(all.get(0).content()));
                messages = all.subList(1, all.size());
            }
            if (!tools.isEmpty()) {
                for (ToolDefinition tool : tools) {
                    out.append("<|tool>").append(TemplateValues.trim(declaration(tool, false))).append("<tool|>");
                }
                prev = Emitted.TOOL;
            }
            out.append(TURN_END);
        }

        int lastUser = -1;
        for (int i = 0; i < messages.size(); i++) {
            if (messages.get(i).role() == ChatMessage.Role.USER) {
                lastUser = i;
            }
        }

        for (int i = 0; i < messages.size(); i++) {
            ChatMessage m = messages.get(i);
            if (m.role() == ChatMessage.Role.TOOL) {
                continue; // rendered inside the assistant turn that made the call, or dropped
            }
            prev = Emitted.NONE;
            boolean model = m.role() == ChatMessage.Role.ASSISTANT;
            ChatMessage.Role previousNonTool = null;
            for (int j = i - 1; j >= 0; j--) {
                if (messages.get(j).role() != ChatMessage.Role.TOOL) {
                    previousNonTool = messages.get(j).role();
                    break;
                }
            }
            boolean continueModelTurn = model && previousNonTool == ChatMessage.Role.ASSISTANT;
            if (!continueModelTurn) {
                out.append("<|turn>").append(roleName(m)).append('\n');
            }
            if (m.reasoningContent() != null && i > lastUser && m.hasToolCalls()) {
                out.append("<|channel>thought\n").append(m.reasoningContent()).append("\n<channel|>");
            }
            if (m.hasToolCalls()) {
                appendToolCalls(out, m.toolCalls());
                prev = Emitted.TOOL_CALL;
            }
            boolean resultsRendered = false;
            if (m.hasToolCalls()) {
                for (int k = i + 1; k < messages.size() && messages.get(k).role() == ChatMessage.Role.TOOL; k++) {
                    ChatMessage result = messages.get(k);
                    String name = result.name() != null ? result.name() : "unknown";
                    for (ToolCall call : m.toolCalls()) {
                        if (java.util.Objects.equals(call.id(), result.toolCallId())) {
                            name = call.name();
                        }
                    }
                    out.append("<|tool_response>response:").append(name).append("{value:<|\"|>")
                        .append(result.content()).append("<|\"|>}<tool_response|>");
                    resultsRendered = true;
                    prev = Emitted.TOOL_RESPONSE;
                }
            }
            out.append(model ? stripThinking(m.content()) : TemplateValues.trim(m.content()));

            if (prev == Emitted.TOOL_CALL && !resultsRendered) {
                out.append("<|tool_response>");
            } else if (!(resultsRendered && m.content().isEmpty())) {
                out.append(TURN_END);
            }
        }

        if (addGenerationPrompt && prev != Emitted.TOOL_RESPONSE && prev != Emitted.TOOL_CALL) {
            out.append(MODEL_TURN);
            if (!thinking) {
                out.append("<|channel>thought\n<channel|>");
            }
        }
        return out.toString();
    }

    // ---- the initial template, with llama.cpp's tool_responses conversion --------------------------------

    /** A message as the initial template sees it after llama.cpp's conversion ({@code content} null: absent). */
    private record InitialTurn(ChatMessage.Role role, String content, List<ToolCall> toolCalls,
                               List<ToolResponse> toolResponses) {
    }

    private record ToolResponse(String name, JsonNode response) {
    }

    /**
     * llama.cpp's workaround for templates without the OpenAI tool-message scan: an assistant message with
     * tool calls absorbs the {@code tool} messages that follow (each content JSON-parsed when possible, named
     * positionally after the calls, else by its tool_call_id) and a following assistant message without
     * calls that has content, which becomes its content; the calling message's own content is dropped.
     */
    private static List<InitialTurn> convertToolResponses(List<ChatMessage> messages) {
        List<InitialTurn> out = new java.util.ArrayList<>();
        int i = 0;
        while (i < messages.size()) {
            ChatMessage m = messages.get(i);
            if (m.role() != ChatMessage.Role.ASSISTANT || !m.hasToolCalls()) {
                out.add(new InitialTurn(m.role(), m.content(), m.toolCalls(), List.of()));
                i++;
                continue;
            }
            List<ToolResponse> responses = new java.util.ArrayList<>();
            i++;
            while (i < messages.size() && messages.get(i).role() == ChatMessage.Role.TOOL) {
                ChatMessage result = messages.get(i);
                int idx = responses.size();
                String name = idx < m.toolCalls().size() ? m.toolCalls().get(idx).name() : "";
                if (name.isEmpty()) {
                    name = result.toolCallId() == null ? "" : result.toolCallId();
                }
                responses.add(new ToolResponse(name, parseLenient(result.content())));
                i++;
            }
            String content = null;
            if (i < messages.size() && messages.get(i).role() == ChatMessage.Role.ASSISTANT
                && !messages.get(i).hasToolCalls() && !messages.get(i).content().isEmpty()) {
                content = messages.get(i).content();
                i++;
            }
            out.add(new InitialTurn(ChatMessage.Role.ASSISTANT, content, m.toolCalls(), responses));
        }
        return out;
    }

    /** The content as JSON if it parses as JSON, else as a string. */
    private static JsonNode parseLenient(String content) {
        try {
            JsonNode n = ChatRequest.JSON.readTree(content);
            if (n != null && !n.isMissingNode()) {
                return n;
            }
        } catch (JsonProcessingException e) {
            // not JSON: the raw string
        }
        return ChatRequest.JSON.getNodeFactory().textNode(content);
    }

    private String renderInitial(List<ChatMessage> all, List<ToolDefinition> tools, boolean thinking,
                                 boolean addGenerationPrompt) {
        List<InitialTurn> turns = convertToolResponses(all);
        StringBuilder out = new StringBuilder();
        Emitted prev = Emitted.NONE;
        List<InitialTurn> loop = turns;
        boolean firstIsSystem = !turns.isEmpty() && (turns.get(0).role() == ChatMessage.Role.SYSTEM
            || turns.get(0).role() == ChatMessage.Role.DEVELOPER);
        if (thinking || !tools.isEmpty() || firstIsSystem) {
            out.append("<|turn>system\n");
            if (thinking) {
                out.append("<|think|>");
                prev = Emitted.THINK;
            }
            if (firstIsSystem) {
                out.append(TemplateValues.trim(turns.get(0).content()));
                loop = turns.subList(1, turns.size());
            }
            if (!tools.isEmpty()) {
                for (ToolDefinition tool : tools) {
                    out.append("<|tool>").append(TemplateValues.trim(declaration(tool, true))).append("<tool|>");
                }
                prev = Emitted.TOOL;
            }
            out.append(TURN_END);
        }
        for (InitialTurn t : loop) {
            prev = Emitted.NONE;
            boolean model = t.role() == ChatMessage.Role.ASSISTANT;
            String role = switch (t.role()) {
                case ASSISTANT -> "model";
                case SYSTEM, DEVELOPER -> "system";
                case USER -> "user";
                case TOOL -> "tool"; // a result with no call before it is rendered as its own turn
            };
            out.append("<|turn>").append(role).append('\n');
            if (!t.toolCalls().isEmpty()) {
                appendToolCalls(out, t.toolCalls());
                prev = Emitted.TOOL_CALL;
            }
            if (!t.toolResponses().isEmpty()) {
                for (ToolResponse r : t.toolResponses()) {
                    out.append("<|tool_response>response:").append(r.name());
                    if (r.response().isObject()) {
                        out.append('{');
                        boolean first = true;
                        for (Map.Entry<String, JsonNode> e : TemplateValues.dictsort(r.response())) {
                            if (!first) {
                                out.append(',');
                            }
                            first = false;
                            out.append(e.getKey()).append(':');
                            formatArgument(out, e.getValue(), false);
                        }
                        out.append('}');
                    } else {
                        out.append("{value:");
                        formatArgument(out, r.response(), false);
                        out.append('}');
                    }
                    out.append("<tool_response|>");
                }
                prev = Emitted.TOOL_RESPONSE;
            }
            if (t.content() != null) {
                out.append(model ? stripThinking(t.content()) : TemplateValues.trim(t.content()));
            }
            if (!(!t.toolResponses().isEmpty() && (t.content() == null || t.content().isEmpty()))) {
                out.append(TURN_END);
            }
        }
        if (addGenerationPrompt) {
            if (prev != Emitted.TOOL_RESPONSE) {
                out.append(MODEL_TURN);
            }
            if (!thinking) {
                out.append("<|channel>thought\n<channel|>");
            }
        }
        return out.toString();
    }

    private static boolean isSystem(ChatMessage m) {
        return m.role() == ChatMessage.Role.SYSTEM || m.role() == ChatMessage.Role.DEVELOPER;
    }

    private static String roleName(ChatMessage m) {
        return switch (m.role()) {
            case ASSISTANT -> "model";
            case DEVELOPER, SYSTEM -> "system"; // llama.cpp maps developer to system for this template
            case USER -> "user";
            case TOOL -> "tool";
        };
    }

    private static void appendToolCalls(StringBuilder out, List<ToolCall> calls) {
        for (ToolCall call : calls) {
            out.append("<|tool_call>call:").append(call.name()).append('{');
            JsonNode args = parseArguments(call);
            if (args.isObject()) {
                boolean first = true;
                for (Map.Entry<String, JsonNode> e : TemplateValues.dictsort(args)) {
                    if (!first) {
                        out.append(',');
                    }
                    first = false;
                    out.append(e.getKey()).append(':');
                    formatArgument(out, e.getValue(), false);
                }
            } else if (args.isTextual()) {
                out.append(args.textValue());
            }
            out.append("}<tool_call|>");
        }
    }

    private static JsonNode parseArguments(ToolCall call) {
        try {
            return ChatRequest.JSON.readTree(call.arguments());
        } catch (JsonProcessingException e) {
            throw new ChatRequestException("tool call " + call.name() + ": arguments are not valid JSON: "
                + e.getOriginalMessage(), e);
        }
    }

    /** Assistant content: split at each {@code <channel|>}, keep each piece up to its first {@code <|channel>}, join, trim. */
    static String stripThinking(String text) {
        StringBuilder sb = new StringBuilder();
        int from = 0;
        while (true) {
            int close = text.indexOf("<channel|>", from);
            String piece = close < 0 ? text.substring(from) : text.substring(from, close);
            int open = piece.indexOf("<|channel>");
            sb.append(open < 0 ? piece : piece.substring(0, open));
            if (close < 0) {
                break;
            }
            from = close + "<channel|>".length();
        }
        return TemplateValues.trim(sb.toString());
    }

    /** {@code format_argument}: the template's value syntax with {@code <|"|>} strings. */
    static void formatArgument(StringBuilder out, JsonNode v, boolean escapeKeys) {
        if (v.isTextual()) {
            out.append("<|\"|>").append(v.textValue()).append("<|\"|>");
        } else if (v.isBoolean()) {
            out.append(v.booleanValue() ? "true" : "false");
        } else if (v.isObject()) {
            out.append('{');
            boolean first = true;
            for (Map.Entry<String, JsonNode> e : TemplateValues.dictsort(v)) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                if (escapeKeys) {
                    out.append("<|\"|>").append(e.getKey()).append("<|\"|>");
                } else {
                    out.append(e.getKey());
                }
                out.append(':');
                formatArgument(out, e.getValue(), escapeKeys);
            }
            out.append('}');
        } else if (v.isArray()) {
            out.append('[');
            for (int i = 0; i < v.size(); i++) {
                if (i > 0) {
                    out.append(',');
                }
                formatArgument(out, v.get(i), escapeKeys);
            }
            out.append(']');
        } else {
            out.append(TemplateValues.str(v));
        }
    }

    // ---- tool declarations -----------------------------------------------------------------------------

    /** {@code format_function_declaration} for the name, description and parameters llama-server passes. */
    static String declaration(ToolDefinition tool, boolean initial) {
        StringBuilder out = new StringBuilder();
        out.append("declaration:").append(tool.name()).append("{description:<|\"|>").append(tool.description())
            .append("<|\"|>");
        JsonNode params = tool.parameters();
        if (TemplateValues.truthy(params)) {
            out.append(",parameters:{");
            JsonNode props = params.get("properties");
            if (TemplateValues.truthy(props)) {
                out.append("properties:{");
                formatParameters(out, props, initial);
                out.append("},");
            }
            JsonNode required = params.get("required");
            if (TemplateValues.truthy(required)) {
                out.append("required:[");
                appendRequired(out, required);
                out.append("],");
            }
            if (TemplateValues.truthy(params.get("type"))) {
                out.append("type:<|\"|>").append(TemplateValues.upper(params.get("type"))).append("<|\"|>}");
            }
        }
        out.append('}');
        return out.toString();
    }

    private static void appendRequired(StringBuilder out, JsonNode required) {
        if (required.isArray()) {
            for (int i = 0; i < required.size(); i++) {
                if (i > 0) {
                    out.append(',');
                }
                out.append("<|\"|>").append(TemplateValues.str(required.get(i))).append("<|\"|>");
            }
        } else if (required.isTextual()) {
            // a string iterates over its characters
            String s = required.textValue();
            for (int i = 0; i < s.length(); ) {
                int cp = s.codePointAt(i);
                if (i > 0) {
                    out.append(',');
                }
                out.append("<|\"|>").appendCodePoint(cp).append("<|\"|>");
                i += Character.charCount(cp);
            }
        }
    }

    /** {@code format_parameters}: the properties of an object schema, in key order. */
    private static void formatParameters(StringBuilder out, JsonNode properties, boolean initial) {
        if (!properties.isObject()) {
            return;
        }
        boolean foundFirst = false;
        for (Map.Entry<String, JsonNode> e : TemplateValues.dictsort(properties)) {
            String key = e.getKey();
            if (STANDARD_KEYS.contains(key)) {
                continue;
            }
            JsonNode value = e.getValue().isObject() ? e.getValue() : ChatRequest.JSON.createObjectNode();
            if (foundFirst) {
                out.append(',');
            }
            foundFirst = true;
            out.append(key).append(":{");
            boolean comma = false;
            if (TemplateValues.truthy(value.get("description"))) {
                out.append("description:<|\"|>").append(TemplateValues.str(value.get("description"))).append("<|\"|>");
                comma = true;
            }
            String type = TemplateValues.upper(value.get("type"));
            if (initial) {
                comma = initialPropertyFields(out, value, type, comma);
            } else {
                comma = officialPropertyFields(out, value, type, comma);
            }
            comma(out, comma);
            out.append("type:<|\"|>").append(type).append("<|\"|>}");
        }
    }

    private static boolean officialPropertyFields(StringBuilder out, JsonNode value, String type, boolean comma) {
        if (type.equals("STRING")) {
            if (TemplateValues.truthy(value.get("enum"))) {
                comma = comma(out, comma);
                out.append("enum:");
                formatArgument(out, value.get("enum"), true);
            }
        } else if (type.equals("ARRAY")) {
            JsonNode items = value.get("items");
            if (items != null && items.isObject() && !items.isEmpty()) {
                comma = comma(out, comma);
                out.append("items:{");
                formatItems(out, items, false);
                out.append('}');
            }
        }
        if (TemplateValues.truthy(value.get("nullable"))) {
            comma = comma(out, comma);
            out.append("nullable:true");
        }
        if (type.equals("OBJECT")) {
            JsonNode props = value.get("properties");
            comma = comma(out, comma);
            out.append("properties:{");
            formatParameters(out, props != null && props.isObject() ? props : value, false);
            out.append('}');
            if (TemplateValues.truthy(value.get("required"))) {
                comma = comma(out, comma);
                out.append("required:[");
                appendRequired(out, value.get("required"));
                out.append(']');
            }
        }
        return comma;
    }

    /** The initial revision: nullable first; OBJECT and ARRAY parts always start with a comma (its quirk). */
    private static boolean initialPropertyFields(StringBuilder out, JsonNode value, String type, boolean comma) {
        if (TemplateValues.truthy(value.get("nullable"))) {
            comma = comma(out, comma);
            out.append("nullable:true");
        }
        if (type.equals("STRING")) {
            if (TemplateValues.truthy(value.get("enum"))) {
                comma = comma(out, comma);
                out.append("enum:");
                formatArgument(out, value.get("enum"), true);
            }
        } else if (type.equals("OBJECT")) {
            JsonNode props = value.get("properties");
            out.append(",properties:{");
            formatParameters(out, props != null && props.isObject() ? props : value, true);
            out.append('}');
            if (TemplateValues.truthy(value.get("required"))) {
                out.append(",required:[");
                appendRequired(out, value.get("required"));
                out.append(']');
            }
        } else if (type.equals("ARRAY")) {
            JsonNode items = value.get("items");
            if (items != null && items.isObject() && !items.isEmpty()) {
                out.append(",items:{");
                formatItems(out, items, true);
                out.append('}');
            }
        }
        return comma;
    }

    /** The {@code items} schema of an ARRAY property: every non-null key, in order. */
    private static void formatItems(StringBuilder out, JsonNode items, boolean initial) {
        boolean first = true;
        for (Map.Entry<String, JsonNode> e : TemplateValues.dictsort(items)) {
            JsonNode v = e.getValue();
            if (v.isNull()) {
                continue;
            }
            if (!first) {
                out.append(',');
            }
            first = false;
            switch (e.getKey()) {
                case "properties" -> {
                    out.append("properties:{");
                    if (v.isObject()) {
                        formatParameters(out, v, initial);
                    }
                    out.append('}');
                }
                case "required" -> {
                    out.append("required:[");
                    appendRequired(out, v);
                    out.append(']');
                }
                case "type" -> {
                    out.append("type:");
                    if (v.isTextual()) {
                        formatArgument(out, ChatRequest.JSON.getNodeFactory().textNode(TemplateValues.upper(v)), true);
                    } else {
                        var upper = ChatRequest.JSON.createArrayNode();
                        if (v.isArray()) {
                            v.forEach(t -> upper.add(TemplateValues.upper(t)));
                        }
                        formatArgument(out, upper, true);
                    }
                }
                default -> {
                    out.append(e.getKey()).append(':');
                    formatArgument(out, v, true);
                }
            }
        }
    }

    private static boolean comma(StringBuilder out, boolean needed) {
        if (needed) {
            out.append(',');
        }
        return true;
    }

    static String sha256(String text) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(md.digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
