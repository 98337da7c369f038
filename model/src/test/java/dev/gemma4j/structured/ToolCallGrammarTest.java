package dev.gemma4j.structured;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gemma4j.chat.Gemma4OutputParser;
import dev.gemma4j.chat.ToolCall;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Forced tool calls in Gemma 4's syntax: what the automaton accepts, the output parser turns into valid calls. */
class ToolCallGrammarTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static final String WEATHER = """
        {"type":"object","properties":{"city":{"type":"string","maxLength":12},"days":{"type":"integer"},
          "unit":{"enum":["c","f"]},"detail":{"type":["boolean","null"]}},"required":["city","days","unit","detail"],
         "additionalProperties":false}""";
    static final String SEARCH = """
        {"type":"object","properties":{"query":{"type":"string","minLength":1,"maxLength":20},
          "filters":{"type":"array","items":{"$ref":"#/$defs/f"},"maxItems":2}},
         "required":["query","filters"],"$defs":{"f":{"type":"object","properties":{"k":{"type":"string","maxLength":5},"v":{"type":"number"}},"required":["k","v"]}}}""";

    static List<ToolCallGrammar.Tool> tools() throws Exception {
        return List.of(new ToolCallGrammar.Tool("get_weather", JSON.readTree(WEATHER)),
            new ToolCallGrammar.Tool("get", JSON.readTree("{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"}}}")),
            new ToolCallGrammar.Tool("search", JSON.readTree(SEARCH)),
            new ToolCallGrammar.Tool("now", null));
    }

    static final Map<String, String> SCHEMAS = Map.of("get_weather", WEATHER, "search", SEARCH,
        "get", "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"}}}",
        "now", "{\"type\":\"object\",\"additionalProperties\":false}");

    /** Parses the output as the chat layer does and checks every call against its tool's schema. */
    static List<ToolCall> checkCalls(String output, int min, int max) {
        Set<String> names = SCHEMAS.keySet();
        Gemma4OutputParser.Result r = Gemma4OutputParser.parse(output, new Gemma4OutputParser.Options(names, max > 1, true),
            Gemma4OutputParser.StopCause.END_OF_GENERATION);
        assertTrue(r.content() == null || r.content().isEmpty(), () -> "content left over: " + r.content() + " from " + output);
        assertTrue(r.toolCalls().size() >= min && r.toolCalls().size() <= max, () -> r.toolCalls() + " from " + output);
        for (ToolCall c : r.toolCalls()) {
            assertTrue(SchemaCases.valid(SCHEMAS.get(c.name()), c.arguments()),
                () -> c.name() + " " + c.arguments() + " invalid, from " + output);
        }
        return r.toolCalls();
    }

    @Test
    void handWrittenCalls() throws Exception {
        JsonGrammar one = ToolCallGrammar.compile(tools(), true, 1, 1);
        String q = "<|\"|>";
        String call = "<|tool_call>call:get_weather{city:" + q + "Paris \"x\"\\" + q + ",days:2,detail:null,unit:" + q + "c" + q + "}<tool_call|>";
        assertTrue(JsonMatcher.matches(one, call));
        List<ToolCall> calls = checkCalls(call, 1, 1);
        assertEquals("{\"city\":\"Paris \\\"x\\\"\\\\\",\"days\":2,\"detail\":null,\"unit\":\"c\"}", calls.get(0).arguments());
        assertTrue(JsonMatcher.matches(one, "<|tool_call>call:now{}<tool_call|>"));
        assertFalse(JsonMatcher.matches(one, "<|tool_call>call:get{}<tool_call|>"));      // strict: id required
        assertTrue(JsonMatcher.matches(one, "<|tool_call>call:get{id:-3}<tool_call|>"));
        assertFalse(JsonMatcher.matches(one, "<|tool_call>call:get{id:-3}<tool_call|><|tool_call>call:now{}<tool_call|>"));
        assertFalse(JsonMatcher.matches(one, ""));                      // a call is required
        assertFalse(JsonMatcher.matches(one, "<|tool_call>call:nope{}<tool_call|>"));
        assertFalse(JsonMatcher.matches(one, "<|tool_call>call:get{ id:1}<tool_call|>"));    // no whitespace
        assertFalse(JsonMatcher.matches(one, "<|tool_call>call:get{\"id\":1}<tool_call|>")); // bare keys
        assertFalse(JsonMatcher.matches(one, "<|tool_call>call:get_weather{days:2,city:" + q + "P" + q
            + ",detail:null,unit:" + q + "c" + q + "}<tool_call|>"));                              // sorted keys
        assertFalse(JsonMatcher.matches(one, "<|tool_call>call:get_weather{city:" + q + "a<|x" + q
            + ",days:2,detail:null,unit:" + q + "c" + q + "}<tool_call|>"));                       // no "<|" in text
        assertFalse(JsonMatcher.matches(one, "<|tool_call>call:get_weather{city:" + q + "a<tool_call|>" + q
            + ",days:2,detail:null,unit:" + q + "c" + q + "}<tool_call|>"));                       // no "|>" in text
        JsonGrammar two = ToolCallGrammar.compile(tools(), true, 1, 2);
        String both = "<|tool_call>call:get{id:1}<tool_call|><|tool_call>call:now{}<tool_call|>";
        assertTrue(JsonMatcher.matches(two, both));
        assertEquals(2, checkCalls(both, 1, 2).size());
    }

    @Test
    void randomWalksParseToValidCalls() throws Exception {
        for (int max : new int[] {1, 3}) {
            JsonGrammar g = ToolCallGrammar.compile(tools(), false, 1, max);
            SplittableRandom rnd = new SplittableRandom(max);
            int finished = 0;
            Map<String, Long> byName = new java.util.HashMap<>();
            for (int walk = 0; walk < 300; walk++) {
                String out = JsonAutomatonTest.randomWalk(g, rnd, 300);
                if (out == null) {
                    continue;
                }
                finished++;
                for (ToolCall c : checkCalls(out, 1, max)) {
                    byName.merge(c.name(), 1L, Long::sum);
                }
            }
            assertTrue(finished >= 250, "only " + finished + " walks ended");
            assertEquals(SCHEMAS.keySet(), byName.keySet(), () -> "not every tool was called: " + byName);
        }
    }

    @Test
    void refusesFreeFormValuesAndBadNames() throws Exception {
        UnsupportedSchemaException e = assertThrows(UnsupportedSchemaException.class, () -> ToolCallGrammar.compile(
            List.of(new ToolCallGrammar.Tool("f", JSON.readTree("{\"type\":\"object\",\"properties\":{\"a\":{}}}"))), true, 1, 1));
        assertEquals("type", e.keyword());
        assertEquals("/tools/0/function/parameters/properties/a", e.pointer());
        e = assertThrows(UnsupportedSchemaException.class, () -> ToolCallGrammar.compile(
            List.of(new ToolCallGrammar.Tool("f", JSON.readTree("{\"type\":\"object\",\"properties\":{\"a:b\":{\"type\":\"string\"}}}"))), true, 1, 1));
        assertEquals("properties", e.keyword());
        e = assertThrows(UnsupportedSchemaException.class, () -> ToolCallGrammar.compile(
            List.of(new ToolCallGrammar.Tool("f", JSON.readTree("{\"type\":\"string\"}"))), true, 1, 1));
        assertEquals("type", e.keyword());
        assertThrows(IllegalArgumentException.class, () -> ToolCallGrammar.compile(
            List.of(new ToolCallGrammar.Tool("f{", null)), true, 1, 1));
        String unused = tools().stream().map(ToolCallGrammar.Tool::name).collect(Collectors.joining());
        assertFalse(unused.isEmpty());
    }
}
