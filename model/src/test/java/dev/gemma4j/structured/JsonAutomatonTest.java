package dev.gemma4j.structured;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** The automaton against the reference validator: hand-written outputs, and random walks through the automaton. */
class JsonAutomatonTest {

    /** schema, text, whether the schema accepts it (per the reference validator, checked too) */
    record Example(String schema, String text, boolean valid) {
        @Override
        public String toString() {
            return schema + " ⟵ " + text;
        }
    }

    static List<Example> examples() {
        String obj = """
            {"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"},"c":{"type":"boolean"}},"required":["a","c"],"additionalProperties":false}""";
        String arr = """
            {"type":"array","items":{"type":"number"},"minItems":1,"maxItems":2}""";
        String str = """
            {"type":"string","minLength":2,"maxLength":3}""";
        String en = """
            {"enum":["x",1,12,null,{"k":true}]}""";
        String any = """
            {"anyOf":[{"type":"string","maxLength":1},{"type":"object","properties":{"t":{"const":1}},"required":["t"]}]}""";
        String rec = """
            {"$defs":{"l":{"type":"array","items":{"$ref":"#/$defs/l"}}},"$ref":"#/$defs/l"}""";
        String nul = """
            {"type":["integer","null"]}""";
        return List.of(
            new Example(obj, "{\"a\":\"x\",\"b\":1,\"c\":true}", true),
            new Example(obj, "{\"a\":\"x\",\"c\":false}", true),
            new Example(obj, "{ \"a\" : \"\" ,\n  \"c\": true }", true),
            new Example(obj, "{\"a\":\"x\",\"b\":1}", false),            // c missing
            new Example(obj, "{\"a\":\"x\",\"b\":1.5,\"c\":true}", false), // b not integer
            new Example(obj, "{\"a\":\"x\",\"c\":true,\"d\":1}", false),   // additional property
            new Example(obj, "{\"a\":1,\"c\":true}", false),
            new Example(obj, "{\"a\":\"\\u00e9\\n\\\"\",\"c\":true}", true),
            new Example(obj, "{\"a\":\"\u00e9\u4e2d\ud83d\ude00\",\"c\":true}", true),
            new Example(obj, "{\"a\":\"x\",\"c\":true}x", false),
            new Example(obj, "{\"a\":\"\t\",\"c\":true}", false),          // raw control character
            new Example(arr, "[1]", true),
            new Example(arr, "[-0.5e+3,2E7]", true),
            new Example(arr, "[]", false),
            new Example(arr, "[1,2,3]", false),
            new Example(arr, "[01]", false),
            new Example(arr, "[1.]", false),
            new Example(arr, "[\"1\"]", false),
            new Example(str, "\"ab\"", true),
            new Example(str, "\"a\u00e9\ud83d\ude00\"", true),             // code points, not bytes or UTF-16 units
            new Example(str, "\"a\"", false),
            new Example(str, "\"abcd\"", false),
            new Example(str, "\"\\n\\t\"", true),
            new Example(en, "\"x\"", true),
            new Example(en, "1", true),
            new Example(en, "12", true),
            new Example(en, "null", true),
            new Example(en, "{\"k\":true}", true),
            new Example(en, "2", false),
            new Example(en, "\"y\"", false),
            new Example(en, "{\"k\":false}", false),
            new Example(any, "\"a\"", true),
            new Example(any, "{\"t\":1}", true),
            new Example(any, "\"ab\"", false),
            new Example(any, "{\"t\":2}", false),
            new Example(rec, "[[],[[]]]", true),
            new Example(rec, "[[],[1]]", false),
            new Example(nul, "null", true),
            new Example(nul, "-7", true),
            new Example(nul, "\"7\"", false),
            new Example(nul, "7.5", false));
    }

    @ParameterizedTest
    @MethodSource("examples")
    void automatonAgreesWithValidator(Example e) {
        assertEquals(e.valid(), SchemaCases.valid(e.schema(), e.text()), "reference validator disagrees with the test's expectation");
        assertEquals(e.valid(), JsonMatcher.matches(JsonSchemaCompiler.compile(e.schema(), false), e.text()));
    }

    @Test
    void policyRejectsSomeValidOutputs() {
        // valid JSON for the schema, outside the emitted subset: documented restrictions, not accidents
        String obj = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"integer\"}}}";
        JsonGrammar g = JsonSchemaCompiler.compile(obj, false);
        for (String text : List.of("{\"b\":1,\"a\":2}", " {}", "{}\n", "{\"a\":1,  \"b\":2}", "{\"a\":12345678901234567}",
            "{\"c\":1}")) {
            assertTrue(SchemaCases.valid(obj, text), text);
            assertFalse(JsonMatcher.matches(g, text), text);
        }
        assertTrue(JsonMatcher.matches(g, "{\"a\":1,\n    \"b\":2}"));
    }

    @Test
    void strictMakesEveryPropertyRequired() {
        String obj = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"integer\"}},\"required\":[\"a\"]}";
        assertTrue(JsonMatcher.matches(JsonSchemaCompiler.compile(obj, false), "{\"a\":1}"));
        assertFalse(JsonMatcher.matches(JsonSchemaCompiler.compile(obj, true), "{\"a\":1}"));
        assertTrue(JsonMatcher.matches(JsonSchemaCompiler.compile(obj, true), "{\"a\":1,\"b\":2}"));
    }

    @Test
    void ambiguityIsBounded() {
        // two identical alternatives per nesting level: 2^depth threads, refused past the limit
        String twins = "{\"$defs\":{\"a\":{\"anyOf\":[{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/a\"}},"
            + "{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/a\"}}]}},\"$ref\":\"#/$defs/a\"}";
        JsonGrammar g = JsonSchemaCompiler.compile(twins, false);
        assertTrue(JsonMatcher.matches(g, "[[[]],[]]"));
        JsonMatcher m = g.matcher();
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> m.advance("[".repeat(12)));
    }

    @Test
    void jsonObjectAcceptsAnyObjectOnly() {
        JsonGrammar g = JsonSchemaCompiler.anyObject();
        assertTrue(JsonMatcher.matches(g, "{\"x\":[1,{\"y\":null}],\"z\":\"w\"}"));
        assertTrue(JsonMatcher.matches(g, "{}"));
        assertFalse(JsonMatcher.matches(g, "[]"));
        assertFalse(JsonMatcher.matches(g, "\"s\""));
        assertFalse(JsonMatcher.matches(g, "{\"x\":tru}"));
    }

    @Test
    void partialUtf8IsTrackedAcrossBytes() {
        JsonMatcher m = JsonSchemaCompiler.compile("{\"type\":\"string\",\"maxLength\":1}", false).matcher();
        byte[] euro = "\"\u20ac\"".getBytes(StandardCharsets.UTF_8);
        for (byte b : euro) {
            assertTrue(m.advance(b));
        }
        assertTrue(m.canEnd());
        JsonMatcher bad = JsonSchemaCompiler.compile("{\"type\":\"string\"}", false).matcher();
        assertTrue(bad.advance('"'));
        assertFalse(bad.advance(0x80));      // a continuation byte cannot start a character
        assertTrue(bad.advance(0xE2));
        assertFalse(bad.advance('"'));       // nor may the character be cut short
        assertFalse(bad.advance(new byte[] {(byte) 0xED, (byte) 0xA0})); // surrogates are not UTF-8
    }

    /**
     * Random walks through the automaton (random allowed bytes, closing bytes preferred after a while so
     * that walks end) produce outputs the reference validator accepts, for every schema case.
     */
    @ParameterizedTest
    @FieldSource("dev.gemma4j.structured.SchemaCases#ALL")
    void randomWalksValidate(SchemaCases.Case c) {
        JsonGrammar g = c.compile();
        SplittableRandom rnd = new SplittableRandom(c.name().hashCode());
        int finished = 0;
        for (int walk = 0; walk < 200; walk++) {
            String out = randomWalk(g, rnd, 400);
            if (out == null) {
                continue;
            }
            finished++;
            assertTrue(SchemaCases.valid(c.reference(), out), () -> c.name() + " produced invalid " + out);
        }
        assertTrue(finished >= 150, c.name() + ": only " + finished + " of 200 walks ended");
    }

    static String randomWalk(JsonGrammar g, SplittableRandom rnd, int softLimit) {
        JsonMatcher m = g.matcher();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        List<Integer> allowed = new ArrayList<>();
        for (int step = 0; step < 20 * softLimit; step++) {
            if (m.canEnd() && (m.isComplete() || rnd.nextInt(4) == 0 || step > softLimit)) {
                return out.toString(StandardCharsets.UTF_8);
            }
            allowed.clear();
            for (int b = 0; b < 256; b++) {
                if (m.copy().advance(b)) {
                    allowed.add(b);
                }
            }
            if (allowed.isEmpty()) {
                assertTrue(m.canEnd(), () -> "dead end after " + out.toString(StandardCharsets.UTF_8));
                return out.toString(StandardCharsets.UTF_8);
            }
            int pick = allowed.get(rnd.nextInt(allowed.size()));
            if (step > softLimit || rnd.nextInt(8) == 0) {
                for (int closing : new int[] {'"', ']', '}', '0', 'n', 'e', '1'}) {
                    if (allowed.contains(closing)) {
                        pick = closing;
                        break;
                    }
                }
            }
            assertTrue(m.advance(pick));
            out.write(pick);
        }
        return null;
    }
}
