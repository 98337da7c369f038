package dev.gemma4j.chat;

import java.util.List;

/**
 * One message of a chat-completions request, normalised the way llama-server hands it to the template:
 * content parts are already joined into one string.
 *
 * @param role             the role as sent
 * @param content          the text content; {@code ""} when absent or null; text parts joined with
 *                         {@code "\n"} (a newline only once some text was collected)
 * @param reasoningContent the {@code reasoning_content} field, {@code null} when absent or empty
 * @param toolCalls        assistant tool calls (empty when none)
 * @param toolCallId       for {@code tool} messages: the id of the call answered ({@code null} if absent)
 * @param name             the optional {@code name} field ({@code null} if absent or empty)
 */
public record ChatMessage(Role role, String content, String reasoningContent, List<ToolCall> toolCalls,
                          String toolCallId, String name) {

    public ChatMessage {
        toolCalls = List.copyOf(toolCalls);
    }

    /** Message roles of the OpenAI chat-completions API. */
    public enum Role {
        SYSTEM("system"), DEVELOPER("developer"), USER("user"), ASSISTANT("assistant"), TOOL("tool");

        private final String wireName;

        Role(String wireName) {
            this.wireName = wireName;
        }

        public String wireName() {
            return wireName;
        }

        static Role fromWire(String s) {
            for (Role r : values()) {
                if (r.wireName.equals(s)) {
                    return r;
                }
            }
            return null;
        }
    }

    public static ChatMessage of(Role role, String content) {
        return new ChatMessage(role, content, null, List.of(), null, null);
    }

    public boolean hasToolCalls() {
        return !toolCalls.isEmpty();
    }
}
