package dev.gemma4j.structured;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Forced tool calls in Gemma 4's syntax (spec §6.5): the output is {@code minCalls..maxCalls} calls
 * {@code <|tool_call>call:NAME{ARGS}<tool_call|>} (nothing before, between or after them), NAME one of the
 * tools, ARGS that tool's parameters schema written in Gemma's dict syntax: bare keys in sorted order (as the
 * chat template renders arguments), strings between {@code <|"|>} quotes, no whitespace. The output parser
 * (dev.gemma4j.chat.Gemma4OutputParser) turns ARGS into JSON that matches the schema.
 *
 * <p>For {@code tool_choice: "required"} (any tool) or a named function (one tool), with thinking off: the
 * constraint starts at the first generated token. Free-form values (schemas without type, objects without
 * properties, arrays without items) are refused, since bare keys could not be checked for ':' and '}'.
 */
public final class ToolCallGrammar {
    private ToolCallGrammar() {
    }

    /** A function tool: its name and its {@code parameters} schema (null: no parameters, i.e. {}). */
    public record Tool(String name, JsonNode parameters) {
    }

    public static JsonGrammar compile(List<Tool> tools, boolean strict, int minCalls, int maxCalls) {
        if (tools.isEmpty()) {
            throw new IllegalArgumentException("no tools to call");
        }
        if (minCalls < 1 || maxCalls < minCalls) {
            throw new IllegalArgumentException("calls must be 1 ≤ min ≤ max, got " + minCalls + ".." + maxCalls);
        }
        List<byte[]> prefixes = new ArrayList<>();
        Grammar.Node[] args = new Grammar.Node[tools.size()];
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < args.length; i++) {
            Tool t = tools.get(i);
            String name = t.name();
            if (name == null || name.isEmpty() || name.indexOf('{') >= 0 || !name.strip().equals(name) || !seen.add(name)) {
                throw new IllegalArgumentException("tool name '" + name + "' is empty, repeated, has '{' or surrounding whitespace");
            }
            prefixes.add(("<|tool_call>call:" + name).getBytes(StandardCharsets.UTF_8));
            try {
                args[i] = t.parameters() == null ? new Grammar.Obj(new Grammar.Property[0], true)
                    : JsonSchemaCompiler.compileNode(t.parameters(), strict, true);
            } catch (UnsupportedSchemaException e) {
                throw e.under("/tools/" + i + "/function/parameters");
            }
            if (!isObject(args[i], new HashSet<>())) {
                throw new UnsupportedSchemaException("type", "/tools/" + i + "/function/parameters", "tool parameters must be an object");
            }
        }
        return new JsonGrammar(new Grammar.ToolCalls(prefixes, args, minCalls, maxCalls), true);
    }

    private static boolean isObject(Grammar.Node n, Set<Grammar.Node> seen) {
        if (!seen.add(n)) {
            return false;
        }
        return switch (n) {
            case Grammar.Obj o -> true;
            case Grammar.Ref r -> isObject(r.target, seen);
            case Grammar.Union u -> {
                for (Grammar.Node a : u.alternatives) {
                    if (!isObject(a, seen)) {
                        yield false;
                    }
                }
                yield true;
            }
            default -> false;
        };
    }
}
