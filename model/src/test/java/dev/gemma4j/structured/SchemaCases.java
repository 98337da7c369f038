package dev.gemma4j.structured;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.util.List;
import java.util.Set;

/** Schemas of every supported kind, and the reference validator (networknt json-schema-validator). */
final class SchemaCases {
    private SchemaCases() {
    }

    /** A named schema; {@code strict} as OpenAI's flag; schema null means json_object. */
    record Case(String name, String schema, boolean strict) {
        JsonGrammar compile() {
            return schema == null ? JsonSchemaCompiler.anyObject() : JsonSchemaCompiler.compile(schema, strict);
        }

        /** The schema the output is validated against (json_object: {"type": "object"}). */
        String reference() {
            return schema == null ? "{\"type\":\"object\"}" : schema;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static final List<Case> ALL = List.of(
        new Case("object-required", """
            {"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer"},
             "ok":{"type":"boolean"}},"required":["name","age","ok"],"additionalProperties":false}""", false),
        new Case("object-optional-nested", """
            {"type":"object","properties":{
               "id":{"type":"integer"},
               "tags":{"type":"array","items":{"type":"string","maxLength":6},"minItems":1,"maxItems":3},
               "meta":{"type":"object","properties":{"score":{"type":"number"},"note":{"type":["string","null"],"maxLength":8}},
                       "required":["score"]},
               "flag":{"type":"boolean"}},
             "required":["id","meta"]}""", false),
        new Case("strict-all-required", """
            {"type":"object","properties":{"a":{"type":"string","maxLength":5},"b":{"type":"number"}},
             "additionalProperties":false}""", true),
        new Case("string-enum", """
            {"type":"string","enum":["red","green","blue","grün","\\"quoted\\""]}""", false),
        new Case("const-object", """
            {"const":{"kind":"fixed","n":[1,2.5,null,true]}}""", false),
        new Case("string-length", """
            {"type":"string","minLength":3,"maxLength":7}""", false),
        new Case("number", """
            {"type":"number"}""", false),
        new Case("integer-array", """
            {"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":4}""", false),
        new Case("boolean", """
            {"type":"boolean"}""", false),
        new Case("null", """
            {"type":"null"}""", false),
        new Case("enum-mixed", """
            {"enum":[1,12,"a",null,false,{"k":[1,2]},[]]}""", false),
        new Case("anyOf-types", """
            {"anyOf":[{"type":"string","maxLength":4},{"type":"integer"},{"type":"null"}]}""", false),
        new Case("oneOf-discriminated", """
            {"oneOf":[
               {"type":"object","properties":{"kind":{"const":"circle"},"r":{"type":"number"}},"required":["kind","r"],"additionalProperties":false},
               {"type":"object","properties":{"kind":{"const":"rect"},"w":{"type":"integer"},"h":{"type":"integer"}},"required":["kind","w","h"],"additionalProperties":false}]}""", false),
        new Case("type-array", """
            {"type":["string","null","boolean"],"maxLength":5}""", false),
        new Case("ref-defs", """
            {"type":"object","properties":{"home":{"$ref":"#/$defs/addr"},"work":{"$ref":"#/definitions/addr2"}},
             "required":["home"],
             "$defs":{"addr":{"type":"object","properties":{"city":{"type":"string","maxLength":10},"zip":{"type":"string","enum":["1000","2000"]}},"required":["city","zip"]}},
             "definitions":{"addr2":{"$ref":"#/$defs/addr"}}}""", false),
        new Case("recursive-tree", """
            {"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},
               "kids":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},"required":["v","kids"],"additionalProperties":false}},
             "$ref":"#/$defs/node"}""", false),
        new Case("free-object-values", """
            {"type":"object","additionalProperties":{"type":"integer"}}""", false),
        new Case("json-object", null, false));

    private static final ObjectMapper STRICT_JSON = JsonMapper.builder()
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .build();

    /**
     * Parses strictly (no trailing tokens); throws if the text is not one JSON value. Duplicate keys are
     * accepted (last wins, as most parsers do): free-form objects do not keep their keys distinct.
     */
    static JsonNode parse(String text) throws Exception {
        return STRICT_JSON.readTree(text);
    }

    /** The reference validator's errors for {@code instance} against {@code schema} (draft 2020-12). */
    static Set<ValidationMessage> validate(String schema, JsonNode instance) throws Exception {
        JsonSchema s = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(STRICT_JSON.readTree(schema));
        return s.validate(instance);
    }

    /** Whether the text parses as one JSON value and validates against the schema. */
    static boolean valid(String schema, String text) {
        try {
            return validate(schema, parse(text)).isEmpty();
        } catch (Exception e) {
            return false;
        }
    }

}
