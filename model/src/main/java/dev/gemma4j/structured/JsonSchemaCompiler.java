package dev.gemma4j.structured;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compiles a JSON schema (the subset listed in the README) to a {@link JsonGrammar}. Every keyword that would
 * constrain the value but is not enforced raises {@link UnsupportedSchemaException}, so a request never gets
 * output that silently ignores part of its schema. Annotations are ignored.
 *
 * <p>In strict mode (OpenAI's {@code strict: true}) every declared property is required, whatever
 * {@code required} says. Declared properties are always emitted in schema order and no undeclared property
 * is ever emitted, which satisfies {@code additionalProperties} of any value; an object schema without
 * {@code properties} (and without {@code additionalProperties: false}) is a free-form object.
 */
public final class JsonSchemaCompiler {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Keywords that only annotate or hold sub-schemas reached through $ref; they constrain nothing here. */
    private static final Set<String> IGNORED = Set.of("title", "description", "examples", "default", "$schema", "$id",
        "$comment", "$defs", "definitions", "deprecated", "readOnly", "writeOnly", "$anchor");

    private static final Set<String> SUPPORTED = Set.of("type", "properties", "required", "additionalProperties",
        "items", "minItems", "maxItems", "minLength", "maxLength", "enum", "const", "anyOf", "oneOf", "allOf", "$ref");

    private static final Set<String> OBJECT_KEYWORDS = Set.of("properties", "required", "additionalProperties");
    private static final Set<String> ARRAY_KEYWORDS = Set.of("items", "minItems", "maxItems");
    private static final Set<String> STRING_KEYWORDS = Set.of("minLength", "maxLength");

    private final JsonNode document;
    private final boolean strict;
    /** compile to Gemma 4's dict syntax (tool-call arguments) instead of JSON */
    private final boolean gemma;
    private final Map<String, Grammar.Ref> refs = new HashMap<>();
    private final Grammar.Any any = new Grammar.Any();

    private JsonSchemaCompiler(JsonNode document, boolean strict, boolean gemma) {
        this.document = document;
        this.strict = strict;
        this.gemma = gemma;
    }

    /** Compiles a schema given as JSON text. */
    public static JsonGrammar compile(String schemaJson, boolean strict) {
        try {
            return compile(JSON.readTree(schemaJson), strict);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("schema is not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** Compiles a schema; {@code strict} applies OpenAI's strict-mode rule that all properties are required. */
    public static JsonGrammar compile(JsonNode schema, boolean strict) {
        return new JsonGrammar(compileNode(schema, strict, false));
    }

    /** The node of a schema, in JSON or (for tool-call arguments) Gemma 4's dict syntax. */
    static Grammar.Node compileNode(JsonNode schema, boolean strict, boolean gemma) {
        JsonSchemaCompiler c = new JsonSchemaCompiler(schema, strict, gemma);
        Grammar.Node root = c.node(schema, "");
        for (Grammar.Ref r : c.refs.values()) {
            c.checkNoEmptyCycle(r, new HashSet<>());
        }
        return root;
    }

    /**
     * Any value; in Gemma's dict syntax not supported (free-form dicts would need keys that are checked for
     * ':' and '}'), so a schema that leaves a value open is refused there.
     */
    private Grammar.Node any(String keyword, String ptr) {
        if (gemma) {
            throw new UnsupportedSchemaException(keyword, ptr, "tool-call arguments need a schema for every value (no free-form values)");
        }
        return any;
    }

    /** {@code response_format: {"type": "json_object"}}: any JSON object. */
    public static JsonGrammar anyObject() {
        return new JsonGrammar(new Grammar.Any().object);
    }

    /** Any JSON value. */
    public static JsonGrammar anyValue() {
        return new JsonGrammar(new Grammar.Any());
    }

    private Grammar.Node node(JsonNode s, String ptr) {
        if (s.isBoolean()) {
            if (s.booleanValue()) {
                return any("true", ptr);
            }
            throw new UnsupportedSchemaException("false", ptr, "the schema false matches nothing");
        }
        if (!s.isObject()) {
            throw new IllegalArgumentException("schema at " + (ptr.isEmpty() ? "/" : ptr) + " is not an object or boolean");
        }
        Set<String> constraining = new LinkedHashSet<>();
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (IGNORED.contains(k)) {
                continue;
            }
            if (!SUPPORTED.contains(k)) {
                throw new UnsupportedSchemaException(k, ptr, null);
            }
            constraining.add(k);
        }
        if (constraining.contains("$ref")) {
            rejectSiblings(constraining, "$ref", ptr);
            return ref(s.get("$ref"), ptr);
        }
        if (constraining.contains("allOf")) {
            rejectSiblings(constraining, "allOf", ptr);
            JsonNode all = s.get("allOf");
            if (!all.isArray() || all.size() != 1) {
                throw new UnsupportedSchemaException("allOf", ptr, "only an allOf of exactly one schema is supported");
            }
            return node(all.get(0), ptr + "/allOf/0");
        }
        for (String combinator : List.of("anyOf", "oneOf")) {
            if (constraining.contains(combinator)) {
                rejectSiblings(constraining, combinator, ptr);
                JsonNode alts = s.get(combinator);
                if (!alts.isArray() || alts.isEmpty()) {
                    throw new IllegalArgumentException(combinator + " at " + ptr + " must be a non-empty array");
                }
                Grammar.Node[] nodes = new Grammar.Node[alts.size()];
                for (int i = 0; i < nodes.length; i++) {
                    nodes[i] = node(alts.get(i), ptr + "/" + combinator + "/" + i);
                }
                return nodes.length == 1 ? nodes[0] : new Grammar.Union(nodes);
            }
        }
        List<String> types = types(s, constraining, ptr);
        if (constraining.contains("enum") || constraining.contains("const")) {
            return literals(s, constraining, types, ptr);
        }
        if (types == null) {
            return any("type", ptr);
        }
        Grammar.Node[] nodes = new Grammar.Node[types.size()];
        for (int i = 0; i < nodes.length; i++) {
            nodes[i] = typed(s, types.get(i), ptr);
        }
        return nodes.length == 1 ? nodes[0] : new Grammar.Union(nodes);
    }

    private static void rejectSiblings(Set<String> constraining, String keyword, String ptr) {
        for (String k : constraining) {
            if (!k.equals(keyword)) {
                throw new UnsupportedSchemaException(k, ptr, "next to " + keyword);
            }
        }
    }

    /** The listed types, inferred from type-specific keywords when {@code type} is absent, or null for any. */
    private static List<String> types(JsonNode s, Set<String> constraining, String ptr) {
        JsonNode t = s.get("type");
        List<String> types = new ArrayList<>();
        if (t == null) {
            // without "type" the type-specific keywords apply only to values of their type; emit that type
            for (String k : constraining) {
                String inferred = OBJECT_KEYWORDS.contains(k) ? "object" : ARRAY_KEYWORDS.contains(k) ? "array"
                    : STRING_KEYWORDS.contains(k) ? "string" : null;
                if (inferred != null && !types.contains(inferred)) {
                    types.add(inferred);
                }
            }
            return types.isEmpty() ? null : types;
        }
        if (t.isTextual()) {
            types.add(t.textValue());
        } else if (t.isArray() && !t.isEmpty()) {
            for (JsonNode e : t) {
                if (!e.isTextual()) {
                    throw new IllegalArgumentException("type at " + ptr + " lists a non-string");
                }
                if (!types.contains(e.textValue())) {
                    types.add(e.textValue());
                }
            }
        } else {
            throw new IllegalArgumentException("type at " + ptr + " must be a string or a non-empty array");
        }
        for (String type : types) {
            if (!Set.of("object", "array", "string", "number", "integer", "boolean", "null").contains(type)) {
                throw new UnsupportedSchemaException("type", ptr, "unknown type '" + type + "'");
            }
        }
        return types;
    }

    private Grammar.Node typed(JsonNode s, String type, String ptr) {
        return switch (type) {
            case "object" -> object(s, ptr);
            case "array" -> array(s, ptr);
            case "string" -> {
                int min = count(s, "minLength", ptr, 0);
                int max = count(s, "maxLength", ptr, -1);
                if (max >= 0 && max < min) {
                    throw new UnsupportedSchemaException("maxLength", ptr, "maxLength < minLength matches nothing");
                }
                yield new Grammar.Str(min, max, gemma);
            }
            case "number" -> new Grammar.Num(false);
            case "integer" -> new Grammar.Num(true);
            case "boolean" -> new Grammar.Lit(List.of(bytes("true"), bytes("false")));
            case "null" -> new Grammar.Lit(List.of(bytes("null")));
            default -> throw new IllegalStateException(type);
        };
    }

    private Grammar.Node object(JsonNode s, String ptr) {
        JsonNode props = s.get("properties");
        JsonNode additional = s.get("additionalProperties");
        JsonNode required = s.get("required");
        Set<String> req = new HashSet<>();
        if (required != null) {
            if (!required.isArray()) {
                throw new IllegalArgumentException("required at " + ptr + " must be an array");
            }
            for (JsonNode r : required) {
                req.add(r.asText());
            }
        }
        if (props == null) {
            if (!req.isEmpty()) {
                throw new UnsupportedSchemaException("required", ptr, "required names properties that are not declared");
            }
            if (additional != null && additional.isBoolean() && !additional.booleanValue()) {
                return new Grammar.Obj(new Grammar.Property[0], gemma); // only {}
            }
            if (gemma) {
                throw new UnsupportedSchemaException("additionalProperties", ptr,
                    "tool-call arguments need declared properties (no free-form objects)");
            }
            if (additional == null || additional.isBoolean()) {
                return any.object;
            }
            return new Grammar.MapObj(node(additional, ptr + "/additionalProperties"));
        }
        if (!props.isObject()) {
            throw new IllegalArgumentException("properties at " + ptr + " must be an object");
        }
        if (additional != null && !additional.isBoolean()) {
            // never emitting undeclared properties satisfies any additionalProperties schema; still check it
            node(additional, ptr + "/additionalProperties");
        }
        List<Grammar.Property> list = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = props.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            String at = ptr + "/properties/" + escape(name);
            Grammar.Node value = node(e.getValue(), at);
            byte[] key;
            if (gemma) {
                // a bare key runs up to ':' and the parser skips whitespace before it
                if (name.isEmpty() || name.indexOf(':') >= 0 || name.indexOf('}') >= 0 || Character.isWhitespace(name.charAt(0))) {
                    throw new UnsupportedSchemaException("properties", at, "a tool-call argument name must be non-empty, "
                        + "contain no ':' or '}' and not start with whitespace");
                }
                key = bytes(name);
            } else {
                key = serialize(TextNode.valueOf(name));
            }
            list.add(new Grammar.Property(name, key, value, strict || req.contains(name)));
        }
        if (gemma) {
            // Gemma 4's template writes arguments with sorted keys; the model expects that order
            list.sort((a, b) -> a.name().compareTo(b.name()));
        }
        for (String r : req) {
            if (!props.has(r)) {
                throw new UnsupportedSchemaException("required", ptr, "required property '" + r + "' is not declared in properties");
            }
        }
        return new Grammar.Obj(list.toArray(Grammar.Property[]::new), gemma);
    }

    private Grammar.Node array(JsonNode s, String ptr) {
        JsonNode items = s.get("items");
        int min = count(s, "minItems", ptr, 0);
        int max = count(s, "maxItems", ptr, -1);
        if (max >= 0 && max < min) {
            throw new UnsupportedSchemaException("maxItems", ptr, "maxItems < minItems matches nothing");
        }
        Grammar.Node item;
        if (items == null) {
            item = any("items", ptr);
        } else if (items.isArray()) {
            throw new UnsupportedSchemaException("items", ptr, "tuple form (an array of schemas) is not supported");
        } else if (items.isBoolean() && !items.booleanValue()) {
            if (min > 0) {
                throw new UnsupportedSchemaException("minItems", ptr, "items: false with minItems > 0 matches nothing");
            }
            max = 0;
            item = new Grammar.Lit(List.of(bytes("null"))); // never used: no item may come
        } else {
            item = node(items, ptr + "/items");
        }
        return new Grammar.Arr(item, min, max, gemma);
    }

    private Grammar.Node literals(JsonNode s, Set<String> constraining, List<String> types, String ptr) {
        for (String k : constraining) {
            if (!k.equals("enum") && !k.equals("const") && !k.equals("type")) {
                throw new UnsupportedSchemaException(k, ptr, "next to enum/const");
            }
        }
        List<JsonNode> values = new ArrayList<>();
        if (s.has("enum")) {
            JsonNode e = s.get("enum");
            if (!e.isArray()) {
                throw new IllegalArgumentException("enum at " + ptr + " must be an array");
            }
            e.forEach(values::add);
        }
        if (s.has("const")) {
            JsonNode c = s.get("const");
            if (s.has("enum") && !values.contains(c)) {
                values.clear();
            } else {
                values = new ArrayList<>(List.of(c));
            }
        }
        List<byte[]> lits = new ArrayList<>();
        for (JsonNode v : values) {
            if (types == null || types.stream().anyMatch(t -> hasType(v, t))) {
                lits.add(gemma ? gemmaLiteral(v, ptr) : serialize(v));
            }
        }
        if (lits.isEmpty()) {
            throw new UnsupportedSchemaException(s.has("enum") ? "enum" : "const", ptr, "no value satisfies the schema");
        }
        return new Grammar.Lit(lits);
    }

    private static boolean hasType(JsonNode v, String type) {
        return switch (type) {
            case "integer" -> v.isIntegralNumber() || (v.isNumber() && v.asDouble() == Math.rint(v.asDouble()));
            case "number" -> v.isNumber();
            default -> v.getNodeType() == switch (type) {
                case "object" -> JsonNodeType.OBJECT;
                case "array" -> JsonNodeType.ARRAY;
                case "string" -> JsonNodeType.STRING;
                case "boolean" -> JsonNodeType.BOOLEAN;
                default -> JsonNodeType.NULL;
            };
        };
    }

    private Grammar.Node ref(JsonNode refNode, String ptr) {
        if (refNode == null || !refNode.isTextual() || !refNode.textValue().startsWith("#")) {
            throw new UnsupportedSchemaException("$ref", ptr, "only references inside the schema (#/...) are supported");
        }
        String target = refNode.textValue().substring(1);
        Grammar.Ref r = refs.get(target);
        if (r != null) {
            return r;
        }
        JsonNode t;
        try {
            t = target.isEmpty() ? document : document.at(target);
        } catch (IllegalArgumentException e) {
            throw new UnsupportedSchemaException("$ref", ptr, "'" + refNode.textValue() + "' is not a JSON pointer");
        }
        if (t == null || t.isMissingNode()) {
            throw new UnsupportedSchemaException("$ref", ptr, "'" + refNode.textValue() + "' does not resolve");
        }
        r = new Grammar.Ref(target);
        refs.put(target, r); // before compiling the target, so that recursion finds it
        r.target = node(t, target);
        return r;
    }

    /** Rejects reference cycles that consume no input ({"$ref": "#"} at the root), which would never end. */
    private void checkNoEmptyCycle(Grammar.Node n, Set<Grammar.Node> path) {
        if (!path.add(n)) {
            String p = n instanceof Grammar.Ref r ? r.pointer : "";
            throw new UnsupportedSchemaException("$ref", p, "reference cycle that matches no value");
        }
        if (n instanceof Grammar.Ref r) {
            checkNoEmptyCycle(r.target, path);
        } else if (n instanceof Grammar.Union u) {
            for (Grammar.Node a : u.alternatives) {
                checkNoEmptyCycle(a, path);
            }
        }
        path.remove(n);
    }

    private static int count(JsonNode s, String keyword, String ptr, int absent) {
        JsonNode v = s.get(keyword);
        if (v == null) {
            return absent;
        }
        if (!v.canConvertToExactIntegral() || v.asLong() < 0 || v.asLong() > Integer.MAX_VALUE) {
            throw new UnsupportedSchemaException(keyword, ptr, "must be a non-negative integer");
        }
        return v.asInt();
    }

    private static String escape(String key) {
        return key.replace("~", "~0").replace("/", "~1");
    }

    private static byte[] bytes(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** A value in Gemma 4's dict syntax: strings raw between {@code <|"|>}, bare keys, no whitespace. */
    static byte[] gemmaLiteral(JsonNode v, String ptr) {
        StringBuilder b = new StringBuilder();
        gemmaLiteral(v, ptr, b);
        return bytes(b.toString());
    }

    private static void gemmaLiteral(JsonNode v, String ptr, StringBuilder b) {
        if (v.isTextual()) {
            if (v.textValue().contains("<|\"|>")) {
                throw new UnsupportedSchemaException("enum", ptr, "a string containing <|\"|> cannot be written in Gemma's syntax");
            }
            b.append("<|\"|>").append(v.textValue()).append("<|\"|>");
        } else if (v.isObject()) {
            b.append('{');
            boolean first = true;
            for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().isEmpty() || e.getKey().indexOf(':') >= 0 || e.getKey().indexOf('}') >= 0) {
                    throw new UnsupportedSchemaException("enum", ptr, "key '" + e.getKey() + "' cannot be written in Gemma's syntax");
                }
                b.append(first ? "" : ",").append(e.getKey()).append(':');
                gemmaLiteral(e.getValue(), ptr, b);
                first = false;
            }
            b.append('}');
        } else if (v.isArray()) {
            b.append('[');
            for (int i = 0; i < v.size(); i++) {
                b.append(i == 0 ? "" : ",");
                gemmaLiteral(v.get(i), ptr, b);
            }
            b.append(']');
        } else {
            b.append(v.toString()); // numbers, true, false, null as in JSON
        }
    }

    /** The compact serialization the automaton emits for a literal (Jackson's, UTF-8, no whitespace). */
    static byte[] serialize(JsonNode v) {
        try {
            return JSON.writeValueAsBytes(v);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
