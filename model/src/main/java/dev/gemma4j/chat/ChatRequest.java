package dev.gemma4j.chat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts of an OpenAI chat-completions request body that decide the prompt and how the output is parsed.
 * Built by {@link #parse(JsonNode)}, which applies llama-server's validation (every refusal is a
 * {@link ChatRequestException}, an HTTP 400): non-assistant messages need {@code content}; content is a
 * string, null or an array of {@code text} parts; image/audio/video parts are refused
 * ({@link UnsupportedContentException}); tool-call arguments given as a string must be valid JSON;
 * {@code chat_template_kwargs.enable_thinking} must be a boolean.
 *
 * @param messages          the conversation, in order
 * @param tools             the function tools (empty when none)
 * @param enableThinking    {@code chat_template_kwargs.enable_thinking}, {@code null} when not given
 *                          (llama-server's default is on)
 * @param toolChoice        {@code auto}, {@code none} or {@code required}
 * @param parallelToolCalls whether several calls may be made in one turn (default true, as llama-server)
 */
public record ChatRequest(List<ChatMessage> messages, List<ToolDefinition> tools, Boolean enableThinking,
                          String toolChoice, boolean parallelToolCalls) {

    /** Strict JSON: trailing tokens are an error (as in nlohmann::json, which llama-server uses). */
    static final ObjectMapper JSON = JsonMapper.builder()
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

    public ChatRequest {
        messages = List.copyOf(messages);
        tools = List.copyOf(tools);
    }

    /** Thinking as requested, or {@code defaultOn} when the request does not say. */
    public boolean thinking(boolean defaultOn) {
        return enableThinking == null ? defaultOn : enableThinking;
    }

    /** Whether the model may call tools for this request (tools given and tool_choice is not none). */
    public boolean toolCallsEnabled() {
        return !tools.isEmpty() && !"none".equals(toolChoice);
    }

    /** Parses a request body given as JSON text. */
    public static ChatRequest parse(String json) {
        JsonNode body;
        try {
            body = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new ChatRequestException("request body is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (body == null) {
            throw new ChatRequestException("request body is empty");
        }
        return parse(body);
    }

    /** Parses and validates a request body. */
    public static ChatRequest parse(JsonNode body) {
        if (!body.isObject()) {
            throw new ChatRequestException("request body must be a JSON object");
        }
        JsonNode msgs = body.get("messages");
        if (msgs == null) {
            throw new ChatRequestException("'messages' is required");
        }
        if (!msgs.isArray()) {
            throw new ChatRequestException("'messages' must be an array");
        }
        if (msgs.isEmpty()) {
            throw new ChatRequestException("'messages' must not be empty");
        }
        List<ChatMessage> messages = new ArrayList<>();
        for (int i = 0; i < msgs.size(); i++) {
            messages.add(parseMessage(msgs.get(i), i));
        }
        List<ToolDefinition> tools = parseTools(body.get("tools"));

        Boolean thinking = null;
        JsonNode kwargs = body.get("chat_template_kwargs");
        if (kwargs != null && !kwargs.isNull()) {
            if (!kwargs.isObject()) {
                throw new ChatRequestException("'chat_template_kwargs' must be an object");
            }
            JsonNode et = kwargs.get("enable_thinking");
            if (et != null) {
                if (!et.isBoolean()) {
                    throw new ChatRequestException("invalid type for \"enable_thinking\" (expected boolean, got "
                        + typeName(et) + ")");
                }
                thinking = et.booleanValue();
            }
        }
        String toolChoice = "auto";
        JsonNode tc = body.get("tool_choice");
        if (tc != null && !tc.isNull()) {
            if (!tc.isTextual() || !List.of("auto", "none", "required").contains(tc.textValue())) {
                throw new ChatRequestException("'tool_choice' must be one of \"auto\", \"none\", \"required\"");
            }
            toolChoice = tc.textValue();
        }
        boolean parallel = true;
        JsonNode ptc = body.get("parallel_tool_calls");
        if (ptc != null && !ptc.isNull()) {
            if (!ptc.isBoolean()) {
                throw new ChatRequestException("'parallel_tool_calls' must be a boolean");
            }
            parallel = ptc.booleanValue();
        }
        return new ChatRequest(messages, tools, thinking, toolChoice, parallel);
    }

    private static ChatMessage parseMessage(JsonNode m, int index) {
        String where = "messages[" + index + "]";
        if (!m.isObject()) {
            throw new ChatRequestException(where + " must be an object");
        }
        JsonNode roleNode = m.get("role");
        if (roleNode == null || !roleNode.isTextual()) {
            throw new ChatRequestException(where + ": missing 'role'");
        }
        ChatMessage.Role role = ChatMessage.Role.fromWire(roleNode.textValue());
        if (role == null) {
            throw new ChatRequestException(where + ": unsupported role \"" + roleNode.textValue()
                + "\" (expected system, developer, user, assistant or tool)");
        }
        JsonNode content = m.get("content");
        JsonNode calls = m.get("tool_calls");
        if (role != ChatMessage.Role.ASSISTANT && content == null) {
            throw new ChatRequestException(where + ": all non-assistant messages must contain 'content'");
        }
        if (role == ChatMessage.Role.ASSISTANT && content == null && calls == null) {
            throw new ChatRequestException(where + ": an assistant message must contain 'content' or 'tool_calls'");
        }
        String text = contentText(content, where);

        List<ToolCall> toolCalls = new ArrayList<>();
        if (calls != null && !calls.isNull()) {
            if (!calls.isArray()) {
                throw new ChatRequestException(where + ": 'tool_calls' must be an array");
            }
            for (int k = 0; k < calls.size(); k++) {
                toolCalls.add(parseToolCall(calls.get(k), where + ".tool_calls[" + k + "]"));
            }
        }
        String reasoning = optionalString(m, "reasoning_content", where);
        String toolCallId = optionalString(m, "tool_call_id", where);
        String name = optionalString(m, "name", where);
        return new ChatMessage(role, text, emptyToNull(reasoning), toolCalls, emptyToNull(toolCallId),
            emptyToNull(name));
    }

    /** The message text as llama-server gives it to this string-only template. */
    private static String contentText(JsonNode content, String where) {
        if (content == null || content.isNull()) {
            return "";
        }
        if (content.isTextual()) {
            return content.textValue();
        }
        if (!content.isArray()) {
            throw new ChatRequestException(where + ": 'content' must be a string, an array of parts or null");
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < content.size(); i++) {
            JsonNode part = content.get(i);
            String pw = where + ".content[" + i + "]";
            JsonNode type = part.isObject() ? part.get("type") : null;
            if (type == null || !type.isTextual()) {
                throw new ChatRequestException(pw + ": missing content part 'type'");
            }
            switch (type.textValue()) {
                case "text" -> {
                    JsonNode t = part.get("text");
                    if (t == null || !t.isTextual()) {
                        throw new ChatRequestException(pw + ": a text part needs a string 'text'");
                    }
                    if (!sb.isEmpty()) {
                        sb.append('\n');
                    }
                    sb.append(t.textValue());
                }
                case "image_url", "image" -> throw new UnsupportedContentException(
                    pw + ": image input is not supported by this server (text only)");
                case "input_audio", "audio" -> throw new UnsupportedContentException(
                    pw + ": audio input is not supported by this server (text only)");
                case "input_video", "video" -> throw new UnsupportedContentException(
                    pw + ": video input is not supported by this server (text only)");
                default -> throw new ChatRequestException(pw + ": unsupported content part type \""
                    + type.textValue() + "\"");
            }
        }
        return sb.toString();
    }

    private static ToolCall parseToolCall(JsonNode tc, String where) {
        if (!tc.isObject()) {
            throw new ChatRequestException(where + " must be an object");
        }
        JsonNode type = tc.get("type");
        if (type == null) {
            throw new ChatRequestException(where + ": missing tool call 'type'");
        }
        if (!"function".equals(type.asText(null)) || !type.isTextual()) {
            throw new ChatRequestException(where + ": unsupported tool call type (expected \"function\")");
        }
        JsonNode fn = tc.get("function");
        if (fn == null || !fn.isObject()) {
            throw new ChatRequestException(where + ": missing tool call 'function'");
        }
        JsonNode name = fn.get("name");
        if (name == null || !name.isTextual()) {
            throw new ChatRequestException(where + ": missing tool call function 'name'");
        }
        JsonNode args = fn.get("arguments");
        if (args == null) {
            throw new ChatRequestException(where + ": missing tool call function 'arguments'");
        }
        String argsJson;
        if (args.isTextual()) {
            argsJson = args.textValue();
            try {
                JsonNode parsed = JSON.readTree(argsJson);
                if (parsed == null) {
                    throw new ChatRequestException(where + ": tool call arguments are empty (expected JSON)");
                }
            } catch (JsonProcessingException e) {
                throw new ChatRequestException(where + ": tool call arguments are not valid JSON: "
                    + e.getOriginalMessage(), e);
            }
        } else {
            argsJson = args.toString();
        }
        String id = optionalString(tc, "id", where);
        return new ToolCall(emptyToNull(id), name.textValue(), argsJson);
    }

    private static List<ToolDefinition> parseTools(JsonNode tools) {
        List<ToolDefinition> out = new ArrayList<>();
        if (tools == null || tools.isNull()) {
            return out;
        }
        if (!tools.isArray()) {
            throw new ChatRequestException("'tools' must be an array");
        }
        for (int i = 0; i < tools.size(); i++) {
            String where = "tools[" + i + "]";
            JsonNode t = tools.get(i);
            if (!t.isObject() || t.get("type") == null) {
                throw new ChatRequestException(where + ": missing tool 'type'");
            }
            if (!t.get("type").isTextual() || !"function".equals(t.get("type").textValue())) {
                throw new ChatRequestException(where + ": unsupported tool type (expected \"function\")");
            }
            JsonNode fn = t.get("function");
            if (fn == null || !fn.isObject()) {
                throw new ChatRequestException(where + ": missing tool 'function'");
            }
            JsonNode name = fn.get("name");
            if (name == null || !name.isTextual()) {
                throw new ChatRequestException(where + ": missing function 'name'");
            }
            String description = optionalString(fn, "description", where);
            JsonNode params = fn.get("parameters");
            if (params == null) {
                params = JsonNodeFactory.instance.objectNode();
            } else if (!params.isObject()) {
                throw new ChatRequestException(where + ": function 'parameters' must be a JSON-schema object");
            }
            out.add(new ToolDefinition(name.textValue(), description == null ? "" : description, params));
        }
        return out;
    }

    private static String optionalString(JsonNode obj, String field, String where) {
        JsonNode v = obj.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new ChatRequestException(where + ": '" + field + "' must be a string");
        }
        return v.textValue();
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    private static String typeName(JsonNode n) {
        return switch (n.getNodeType()) {
            case STRING -> "string";
            case NUMBER -> "number";
            case ARRAY -> "array";
            case OBJECT -> "object";
            case NULL -> "null";
            default -> n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
