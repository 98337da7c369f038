package dev.gemma4j.structured;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class ResponseFormatsTest {
    static JsonNode json(String s) throws Exception {
        return new ObjectMapper().readTree(s);
    }

    @Test
    void readsTheThreeKinds() throws Exception {
        assertNull(ResponseFormats.grammarOf(null));
        assertNull(ResponseFormats.grammarOf(json("{\"type\":\"text\"}")));
        JsonGrammar obj = ResponseFormats.grammarOf(json("{\"type\":\"json_object\"}"));
        assertTrue(JsonMatcher.matches(obj, "{\"a\":[1]}"));
        assertFalse(JsonMatcher.matches(obj, "[1]"));
        JsonGrammar strict = ResponseFormats.grammarOf(json("""
            {"type":"json_schema","json_schema":{"name":"p","strict":true,
             "schema":{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"additionalProperties":false}}}"""));
        assertFalse(JsonMatcher.matches(strict, "{\"a\":1}"));
        assertTrue(JsonMatcher.matches(strict, "{\"a\":1,\"b\":\"x\"}"));
        JsonGrammar loose = ResponseFormats.grammarOf(json("""
            {"type":"json_schema","json_schema":{"name":"p",
             "schema":{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}}}}}"""));
        assertTrue(JsonMatcher.matches(loose, "{\"a\":1}"));
    }

    @Test
    void rejectsMalformedAndUnsupported() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> ResponseFormats.grammarOf(json("{\"type\":\"yaml\"}")));
        assertThrows(IllegalArgumentException.class, () -> ResponseFormats.grammarOf(json("{\"type\":\"json_schema\"}")));
        UnsupportedSchemaException e = assertThrows(UnsupportedSchemaException.class, () -> ResponseFormats.grammarOf(json(
            "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"p\",\"schema\":{\"type\":\"string\",\"pattern\":\"a\"}}}")));
        assertEquals("pattern", e.keyword());
    }
}
