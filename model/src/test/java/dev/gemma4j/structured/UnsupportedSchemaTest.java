package dev.gemma4j.structured;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Schemas with features that are not enforced are rejected, naming the keyword and where it is. */
class UnsupportedSchemaTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
        {"type":"string","pattern":"^a+$"}                                                   | pattern          | ''
        {"type":"string","format":"date-time"}                                               | format           | ''
        {"type":"object","properties":{"n":{"type":"integer","minimum":0}}}                  | minimum          | /properties/n
        {"type":"object","properties":{"n":{"type":"number","maximum":9}}}                   | maximum          | /properties/n
        {"type":"number","exclusiveMinimum":0}                                               | exclusiveMinimum | ''
        {"type":"integer","multipleOf":2}                                                    | multipleOf       | ''
        {"type":"object","patternProperties":{"^x":{}}}                                      | patternProperties| ''
        {"if":{"type":"string"},"then":{"maxLength":2}}                                      | if               | ''
        {"not":{"type":"null"}}                                                              | not              | ''
        {"allOf":[{"type":"string"},{"maxLength":2}]}                                        | allOf            | ''
        {"type":"array","items":{"type":"string"},"uniqueItems":true}                        | uniqueItems      | ''
        {"type":"array","prefixItems":[{"type":"string"}]}                                   | prefixItems      | ''
        {"type":"array","contains":{"type":"string"}}                                        | contains         | ''
        {"type":"object","minProperties":1}                                                  | minProperties    | ''
        {"type":"object","propertyNames":{"maxLength":3}}                                    | propertyNames    | ''
        {"type":"array","items":[{"type":"string"}]}                                         | items            | ''
        {"$ref":"https://example.com/s.json"}                                                | $ref             | ''
        {"$ref":"#/$defs/missing"}                                                           | $ref             | ''
        {"$defs":{"a":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}                              | $ref             | /$defs/a
        {"type":"object","properties":{"a":{"$ref":"#/$defs/x","maxLength":3}},"$defs":{"x":{}}} | maxLength    | /properties/a
        {"anyOf":[{"type":"string"}],"maxLength":2}                                          | maxLength        | ''
        {"type":"object","properties":{"a":{"anyOf":[{"type":"string","pattern":"x"}]}}}     | pattern          | /properties/a/anyOf/0
        {"type":"object","properties":{"a/b":{"dependentRequired":{}}}}                      | dependentRequired| /properties/a~1b
        {"type":"object","properties":{"a":{"type":"string"}},"required":["b"]}              | required         | ''
        {"enum":["a"],"minLength":3}                                                         | minLength        | ''
        {"type":"decimal"}                                                                   | type             | ''
        {"type":"string","maxLength":1,"minLength":2}                                        | maxLength        | ''
        """)
    void namesTheKeywordAndItsPointer(String schema, String keyword, String pointer) {
        UnsupportedSchemaException e = assertThrows(UnsupportedSchemaException.class,
            () -> JsonSchemaCompiler.compile(schema, false));
        assertEquals(keyword.strip(), e.keyword(), e.getMessage());
        assertEquals(pointer.strip(), e.pointer(), e.getMessage());
        assertTrue(e.getMessage().contains("'" + keyword.strip() + "'"), e.getMessage());
    }

    @Test
    void annotationsAreIgnored() {
        JsonGrammar g = JsonSchemaCompiler.compile("""
            {"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"x","title":"T","description":"d",
             "type":"object","properties":{"a":{"type":"string","description":"x","examples":["e"],"default":"q"}},
             "required":["a"],"additionalProperties":false}""", false);
        assertTrue(JsonMatcher.matches(g, "{\"a\":\"q\"}"));
    }

    @Test
    void singleAllOfIsItsSchema() {
        JsonGrammar g = JsonSchemaCompiler.compile("{\"allOf\":[{\"type\":\"integer\"}]}", false);
        assertTrue(JsonMatcher.matches(g, "12"));
    }
}
