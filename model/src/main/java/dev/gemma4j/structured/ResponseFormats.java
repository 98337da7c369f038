package dev.gemma4j.structured;

import com.fasterxml.jackson.databind.JsonNode;

/** OpenAI's {@code response_format} request field, read into a grammar. */
public final class ResponseFormats {
    private ResponseFormats() {
    }

    /**
     * The grammar {@code response_format} asks for: {@code {"type":"json_object"}} → any JSON object;
     * {@code {"type":"json_schema","json_schema":{"name":…,"schema":{…},"strict":bool}}} → the schema (strict
     * makes every property required, as OpenAI does); {@code {"type":"text"}}, null or JSON null → null (no
     * constraint). A malformed field throws IllegalArgumentException; an unsupported schema
     * {@link UnsupportedSchemaException} (a subclass): both are the client's error (HTTP 400).
     */
    public static JsonGrammar grammarOf(JsonNode responseFormat) {
        if (responseFormat == null || responseFormat.isNull()) {
            return null;
        }
        if (!responseFormat.isObject() || !responseFormat.path("type").isTextual()) {
            throw new IllegalArgumentException("response_format must be an object with a string 'type'");
        }
        String type = responseFormat.get("type").textValue();
        switch (type) {
            case "text" -> {
                return null;
            }
            case "json_object" -> {
                return JsonSchemaCompiler.anyObject();
            }
            case "json_schema" -> {
                JsonNode js = responseFormat.get("json_schema");
                if (js == null || !js.isObject()) {
                    throw new IllegalArgumentException("response_format.json_schema must be an object");
                }
                JsonNode schema = js.get("schema");
                if (schema == null || !(schema.isObject() || schema.isBoolean())) {
                    // OpenAI treats a missing schema as any JSON; we keep to "any object", what callers expect
                    return JsonSchemaCompiler.anyObject();
                }
                boolean strict = js.path("strict").asBoolean(false);
                return JsonSchemaCompiler.compile(schema, strict);
            }
            default -> throw new IllegalArgumentException("unknown response_format type '" + type + "'");
        }
    }
}
