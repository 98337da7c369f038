package dev.gemma4j.chat;

/**
 * One function call made by the assistant, in the OpenAI wire shape: {@code arguments} is JSON text.
 *
 * @param id        the call id ({@code null} when the request gave none, or for calls the output parser
 *                  found: the HTTP layer assigns ids to those)
 * @param name      the function name
 * @param arguments the arguments as JSON text (an object for well-formed calls)
 */
public record ToolCall(String id, String name, String arguments) {
}
