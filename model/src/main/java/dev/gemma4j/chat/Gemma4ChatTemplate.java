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
 * llama-server with {@code --jinja}, {@code /apply-template}) renders the official Gemma 4 chat template:
 * the template's own logic (spec §6.1–6.4) plus llama-server's preprocessing and post-processing
 * (§8.5, §8.6). The output has no leading {@code <bos>} text: the tokenizer adds BOS.
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
 * renderings; templates are recognised by content hash and anything else is refused rather than rendered
 * approximately.
 */
public final class Gemma4ChatTemplate {

    /** SHA-256 of the official template (the revision with the "OpenAI Chat Completions" tool-result scan), stripped. */
    static final String OFFICIAL_SHA256 = "1d35a24a2a63cc600c0cab43628a6df4cd3318e959b03307cf5f9f7e29ecf783";

    private static final String OPENAI_MARKER = "{#- OpenAI Chat Completions:";
    private static final String GEMMA4_MARKER = "'<|tool_call>call:'";
    private static final Set<String> STANDARD_KEYS = Set.of("description", "type", "properties", "required", "nullable");

    private static final String TURN_END = "<turn|>\n";
    private static final String MODEL_TURN = "<|turn>model\n";

    private static final Gemma4ChatTemplate OFFICIAL = new Gemma4ChatTemplate("gemma4-official");

    private final String revision;

    private Gemma4ChatTemplate(String revision) {
        this.revision = revision;
    }

    /** The official Gemma 4 template. */
    public static Gemma4ChatTemplate official() {
        return OFFICIAL;
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
        if (hash.equals(OFFICIAL_SHA256)) {
            return OFFICIAL;
        }
        if (templateText.contains(GEMMA4_MARKER)) {
            if (!templateText.contains(OPENAI_MARKER)) {
                throw new UnsupportedChatTemplateException("the chat template is an older Gemma 4 revision (without the "
                    + "'OpenAI Chat Completions' tool-result handling); only the official revision is supported"
                    + " (sha256 " + hash + ")");
            }
            throw new UnsupportedChatTemplateException("the chat template is an unrecognised revision of the Gemma 4 "
                + "template (sha256 " + hash + "); only the official revision is supported");
        }
        throw new UnsupportedChatTemplateException("the chat template is not a Gemma 4 template (sha256 " + hash + ")");
    }

    /** Which template revision this renderer reproduces. */
    public String revision() {
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
            String prompt = renderTemplate(messages, request.tools(), thinking, true);
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
            renderTemplate(messages.subList(0, messages.size() - 1), request.tools(), thinking, false));
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

    // ---- the template itself ---------------------------------------------------------------------------

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
                    out.append("<|tool>").append(TemplateValues.trim(declaration(tool))).append("<tool|>");
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
                for (ToolCall call : m.toolCalls()) {
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
    static String declaration(ToolDefinition tool) {
        StringBuilder out = new StringBuilder();
        out.append("declaration:").append(tool.name()).append("{description:<|\"|>").append(tool.description())
            .append("<|\"|>");
        JsonNode params = tool.parameters();
        if (TemplateValues.truthy(params)) {
            out.append(",parameters:{");
            JsonNode props = params.get("properties");
            if (TemplateValues.truthy(props)) {
                out.append("properties:{");
                formatParameters(out, props);
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
    private static void formatParameters(StringBuilder out, JsonNode properties) {
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
                    formatItems(out, items);
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
                formatParameters(out, props != null && props.isObject() ? props : value);
                out.append('}');
                if (TemplateValues.truthy(value.get("required"))) {
                    comma = comma(out, comma);
                    out.append("required:[");
                    appendRequired(out, value.get("required"));
                    out.append(']');
                }
            }
            comma(out, comma);
            out.append("type:<|\"|>").append(type).append("<|\"|>}");
        }
    }

    /** The {@code items} schema of an ARRAY property: every non-null key, in order. */
    private static void formatItems(StringBuilder out, JsonNode items) {
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
                        formatParameters(out, v);
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
