package dev.gemma4j.chat;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A function tool from a request's {@code tools} list.
 *
 * @param name        the function name
 * @param description its description ({@code ""} when the request gave none)
 * @param parameters  the JSON-schema of its parameters (an empty object when the request gave none)
 */
public record ToolDefinition(String name, String description, JsonNode parameters) {
}
