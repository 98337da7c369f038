package dev.gemma4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.gguf.GgufValue;
import dev.gemma4j.gguf.GgufValueType;
import dev.gemma4j.gguf.TensorInfo;
import dev.gemma4j.model.Gemma4Gguf;
import dev.gemma4j.tensor.GgmlType;
import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code gemma inspect FILE [--json]}: what a GGUF file holds, read from its header only (memory-mapped,
 * so even a 17 GB model opens at once). Split models open from any shard.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = {
        "Print a GGUF file's architecture, hyperparameters, tokenizer summary, tensor table and totals.",
        "Only the header is read (the file is memory-mapped). A split model (NAME-0000k-of-0000N.gguf) can be"
            + " given by any of its shards."},
    footer = {
        "",
        "JSON output (--json) is one object:",
        "  architecture  general.architecture, or null",
        "  file, shards, version, alignment",
        "  metadata      key -> value, in file order. Integers and floats are numbers (UINT64 above 2^63 too),",
        "                bools are booleans, strings are strings. Arrays of at most " + InspectCommand.ARRAY_LIMIT
            + " elements are",
        "                written out (nested arrays by the same rule); longer arrays are summarized as",
        "                {\"type\":\"ARRAY[STRING]\",\"length\":N} with their element type.",
        "  tokenizer     model, vocab size, merges, special token ids, token counts by type",
        "  tensors       list of {name, type, shape, offset, bytes, shard}: shape in ggml order (row length",
        "                first), offset in bytes from the start of its shard's data area",
        "  totals        tensors, bytes, parameters, and per type {tensors, bytes, parameters}",
        "",
        "Exit codes: 0 success, 2 the file is missing or not a valid GGUF file (one line on stderr)."})
final class InspectCommand implements Callable<Integer> {
    /** Arrays up to this length are shown in full; longer ones are summarized. */
    static final int ARRAY_LIMIT = 256;
    /** Token types of {@code tokenizer.ggml.token_type}, by id. */
    private static final String[] TOKEN_TYPES = {"UNDEFINED", "NORMAL", "UNKNOWN", "CONTROL", "USER_DEFINED", "UNUSED", "BYTE"};

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "GGUF file (or any shard of a split model)")
    Path file;

    @Option(names = "--json", description = "Print one JSON object instead of text (see below).")
    boolean json;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        try (GgufFile f = GgufFile.open(file)) {
            if (json) {
                ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
                out.println(mapper.writeValueAsString(toJson(f)));
            } else {
                printText(f, out);
            }
        }
        out.flush();
        return 0;
    }

    // ---------------------------------------------------------------- JSON

    static ObjectNode toJson(GgufFile f) {
        JsonNodeFactory nf = JsonNodeFactory.instance;
        ObjectNode root = nf.objectNode();
        root.put("architecture", f.architecture());
        root.put("file", f.path().toString());
        ArrayNode shards = root.putArray("shards");
        f.shardPaths().forEach(p -> shards.add(p.toString()));
        root.put("version", f.version());
        root.put("alignment", f.alignment());
        ObjectNode md = root.putObject("metadata");
        f.metadata().forEach((k, v) -> md.set(k, valueJson(v)));
        root.set("tokenizer", tokenizerJson(f));
        ArrayNode ts = root.putArray("tensors");
        for (TensorInfo t : f.tensors()) {
            ObjectNode o = ts.addObject();
            o.put("name", t.name());
            o.put("type", t.type().name());
            ArrayNode shape = o.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            o.put("offset", t.offset());
            o.put("bytes", t.byteSize());
            o.put("shard", t.shard());
        }
        ObjectNode totals = root.putObject("totals");
        totals.put("tensors", f.tensors().size());
        totals.put("bytes", f.totalTensorBytes());
        totals.put("parameters", f.totalElements());
        ObjectNode types = totals.putObject("types");
        byType(f).forEach((type, s) -> {
            ObjectNode o = types.putObject(type.name());
            o.put("tensors", s.tensors);
            o.put("bytes", s.bytes);
            o.put("parameters", s.parameters);
        });
        return root;
    }

    /** A metadata value as JSON; arrays longer than {@link #ARRAY_LIMIT} as {type, length}. */
    static JsonNode valueJson(GgufValue v) {
        JsonNodeFactory nf = JsonNodeFactory.instance;
        return switch (v.type()) {
            case STRING -> nf.textNode(v.asString());
            case BOOL -> nf.booleanNode(v.asBoolean());
            case FLOAT32 -> nf.numberNode(v.asFloat());
            case FLOAT64 -> nf.numberNode(v.asDouble());
            case UINT64 -> v.asLong() < 0 ? nf.numberNode(unsigned(v.asLong())) : nf.numberNode(v.asLong());
            case ARRAY -> {
                if (v.length() > ARRAY_LIMIT) {
                    ObjectNode o = nf.objectNode();
                    o.put("type", v.describe());
                    o.put("length", v.length());
                    yield o;
                }
                ArrayNode a = nf.arrayNode(v.length());
                switch (v.raw()) {
                    case long[] xs -> {
                        for (long x : xs) {
                            a.add(v.elementType() == GgufValueType.UINT64 && x < 0 ? nf.numberNode(unsigned(x)) : nf.numberNode(x));
                        }
                    }
                    case double[] xs -> {
                        for (double x : xs) {
                            a.add(v.elementType() == GgufValueType.FLOAT32 ? nf.numberNode((float) x) : nf.numberNode(x));
                        }
                    }
                    case boolean[] xs -> {
                        for (boolean x : xs) {
                            a.add(x);
                        }
                    }
                    case String[] xs -> {
                        for (String x : xs) {
                            a.add(x);
                        }
                    }
                    case GgufValue[] xs -> {
                        for (GgufValue x : xs) {
                            a.add(valueJson(x));
                        }
                    }
                    default -> throw new IllegalStateException("unexpected array " + v.raw().getClass());
                }
                yield a;
            }
            default -> nf.numberNode(v.asLong());
        };
    }

    private static BigInteger unsigned(long x) {
        return new BigInteger(Long.toUnsignedString(x));
    }

    private static ObjectNode tokenizerJson(GgufFile f) {
        Tokenizer t = Tokenizer.of(f);
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("model", t.model);
        o.put("vocabSize", t.vocabSize);
        o.put("merges", t.merges);
        ObjectNode ids = o.putObject("specialTokenIds");
        t.specialIds.forEach(ids::put);
        ObjectNode types = o.putObject("tokenTypes");
        t.typeCounts.forEach(types::put);
        return o;
    }

    // ---------------------------------------------------------------- text

    private void printText(GgufFile f, PrintWriter out) {
        out.printf("file:          %s%n", f.path());
        if (f.shardPaths().size() > 1) {
            out.printf("shards:        %d (%s ... %s)%n", f.shardPaths().size(),
                f.shardPaths().get(0).getFileName(), f.shardPaths().getLast().getFileName());
        }
        out.printf("format:        GGUF v%d, alignment %d, %d metadata keys%n", f.version(), f.alignment(), f.metadata().size());
        out.printf("architecture:  %s%n", f.architecture() == null ? "(none)" : f.architecture());
        GgufValue name = f.get("general.name");
        if (name != null && name.type() == GgufValueType.STRING) {
            out.printf("name:          %s%n", name.asString());
        }

        String arch = f.architecture();
        String prefix = (arch == null ? "" : arch) + ".";
        out.println();
        out.printf("hyperparameters (%s*):%n", prefix);
        int width = 0;
        for (String k : f.metadata().keySet()) {
            if (k.startsWith(prefix)) {
                width = Math.max(width, k.length() - prefix.length());
            }
        }
        boolean any = false;
        for (Map.Entry<String, GgufValue> e : f.metadata().entrySet()) {
            if (e.getKey().startsWith(prefix)) {
                out.printf("  %-" + width + "s  %s%n", e.getKey().substring(prefix.length()), textValue(e.getValue()));
                any = true;
            }
        }
        if (!any) {
            out.println("  (none)");
        }

        Tokenizer t = Tokenizer.of(f);
        out.println();
        out.println("tokenizer:");
        out.printf("  model:       %s%n", t.model == null ? "(none)" : t.model);
        out.printf("  vocab size:  %d%n", t.vocabSize);
        out.printf("  merges:      %d%n", t.merges);
        t.specialIds.forEach((k, id) -> out.printf("  %-12s %d%s%n", k + ":", id, t.tokenText(id)));
        if (!t.typeCounts.isEmpty()) {
            StringBuilder sb = new StringBuilder();
            t.typeCounts.forEach((k, n) -> sb.append(sb.isEmpty() ? "" : ", ").append(k).append(' ').append(n));
            out.printf("  token types: %s%n", sb);
        }
        GgufValue tmpl = f.get(Gemma4Gguf.KEY_CHAT_TEMPLATE);
        if (tmpl != null && tmpl.type() == GgufValueType.STRING) {
            out.printf("  chat template: %d characters%n", tmpl.asString().length());
        }

        out.println();
        out.println("other metadata:");
        for (Map.Entry<String, GgufValue> e : f.metadata().entrySet()) {
            String k = e.getKey();
            if (!k.startsWith(prefix) && !k.startsWith("tokenizer.")) {
                out.printf("  %s = %s%n", k, textValue(e.getValue()));
            }
        }

        out.println();
        out.printf("tensors (%d):%n", f.tensors().size());
        int nameWidth = 4;
        for (TensorInfo ti : f.tensors()) {
            nameWidth = Math.max(nameWidth, ti.name().length());
        }
        boolean split = f.shardPaths().size() > 1;
        out.printf("  %-" + nameWidth + "s  %-7s  %-24s  %14s%s%n", "name", "type", "shape", "bytes", split ? "  shard" : "");
        for (TensorInfo ti : f.tensors()) {
            out.printf("  %-" + nameWidth + "s  %-7s  %-24s  %14d%s%n", ti.name(), ti.type(), ti.shapeString(), ti.byteSize(),
                split ? String.format("  %5d", ti.shard() + 1) : "");
        }

        out.println();
        out.println("totals:");
        out.printf("  tensors:     %d%n", f.tensors().size());
        out.printf("  bytes:       %d (%s)%n", f.totalTensorBytes(), human(f.totalTensorBytes(), "B"));
        out.printf("  parameters:  %d (%s)%n", f.totalElements(), human(f.totalElements(), ""));
        byType(f).forEach((type, s) -> out.printf("  %-7s %5d tensors  %14d bytes  %14d parameters  (%.2f bits/weight)%n",
            type, s.tensors, s.bytes, s.parameters, s.parameters == 0 ? 0.0 : 8.0 * s.bytes / s.parameters));
    }

    /** A value for the text listing: scalars as is, arrays of up to 32 elements in full, longer ones summarized. */
    static String textValue(GgufValue v) {
        if (v.isArray()) {
            if (v.length() > 32) {
                return v.describe() + " of length " + v.length();
            }
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < v.length(); i++) {
                sb.append(i == 0 ? "" : ", ").append(switch (v.raw()) {
                    case long[] a -> v.elementType() == GgufValueType.UINT64 ? Long.toUnsignedString(a[i]) : Long.toString(a[i]);
                    case double[] a -> v.elementType() == GgufValueType.FLOAT32 ? Float.toString((float) a[i]) : Double.toString(a[i]);
                    case boolean[] a -> Boolean.toString(a[i]);
                    case String[] a -> quoted(a[i]);
                    case GgufValue[] a -> textValue(a[i]);
                    default -> "?";
                });
            }
            return sb.append(']').append(v.length() > 0 ? "" : " (" + v.describe() + ")").toString();
        }
        return switch (v.type()) {
            case STRING -> quoted(v.asString());
            case UINT64 -> Long.toUnsignedString(v.asLong());
            case FLOAT32 -> Float.toString(v.asFloat());
            default -> String.valueOf(v);
        };
    }

    private static String quoted(String s) {
        String oneLine = s.replace("\n", "\\n");
        return oneLine.length() > 100
            ? "\"" + oneLine.substring(0, 100) + "...\" (" + s.length() + " characters)"
            : "\"" + oneLine + "\"";
    }

    private static String human(long n, String unit) {
        if (unit.equals("B")) {
            if (n < 1024) {
                return n + " B";
            }
            String[] u = {"KiB", "MiB", "GiB", "TiB"};
            double x = n;
            int i = -1;
            while (x >= 1024 && i < u.length - 1) {
                x /= 1024;
                i++;
            }
            return String.format(Locale.ROOT, "%.2f %s", x, u[i]);
        }
        if (n < 1000) {
            return Long.toString(n);
        }
        String[] u = {"K", "M", "B", "T"};
        double x = n;
        int i = -1;
        while (x >= 1000 && i < u.length - 1) {
            x /= 1000;
            i++;
        }
        return String.format(Locale.ROOT, "%.2f %s", x, u[i]);
    }

    // ---------------------------------------------------------------- summaries

    private static final class TypeStats {
        long tensors;
        long bytes;
        long parameters;
    }

    private static Map<GgmlType, TypeStats> byType(GgufFile f) {
        Map<GgmlType, TypeStats> m = new TreeMap<>();
        for (TensorInfo t : f.tensors()) {
            TypeStats s = m.computeIfAbsent(t.type(), k -> new TypeStats());
            s.tensors++;
            s.bytes += t.byteSize();
            s.parameters += t.elements();
        }
        return m;
    }

    /** What the tokenizer keys say, without their arrays. */
    private static final class Tokenizer {
        String model;
        long vocabSize;
        long merges;
        GgufValue tokens;
        final Map<String, Long> specialIds = new java.util.LinkedHashMap<>();
        final Map<String, Long> typeCounts = new java.util.LinkedHashMap<>();

        static Tokenizer of(GgufFile f) {
            Tokenizer t = new Tokenizer();
            GgufValue m = f.get(Gemma4Tokenizer.KEY_MODEL);
            t.model = m != null && m.type() == GgufValueType.STRING ? m.asString() : null;
            GgufValue tokens = f.get(Gemma4Tokenizer.KEY_TOKENS);
            if (tokens != null && tokens.isArray()) {
                t.vocabSize = tokens.length();
                if (tokens.elementType() == GgufValueType.STRING) {
                    t.tokens = tokens;
                }
            }
            GgufValue merges = f.get(Gemma4Tokenizer.KEY_MERGES);
            t.merges = merges != null && merges.isArray() ? merges.length() : 0;
            for (Map.Entry<String, GgufValue> e : f.metadata().entrySet()) {
                String k = e.getKey();
                if (k.startsWith("tokenizer.ggml.") && k.endsWith("_token_id") && e.getValue().isInteger()) {
                    t.specialIds.put(k.substring("tokenizer.ggml.".length(), k.length() - "_token_id".length()), e.getValue().asLong());
                }
            }
            GgufValue types = f.get(Gemma4Tokenizer.KEY_TOKEN_TYPE);
            if (types != null && types.isArray() && types.raw() instanceof long[] ids) {
                long[] counts = new long[TOKEN_TYPES.length];
                long other = 0;
                for (long id : ids) {
                    if (id >= 0 && id < counts.length) {
                        counts[(int) id]++;
                    } else {
                        other++;
                    }
                }
                for (int i = 0; i < counts.length; i++) {
                    if (counts[i] > 0) {
                        t.typeCounts.put(TOKEN_TYPES[i], counts[i]);
                    }
                }
                if (other > 0) {
                    t.typeCounts.put("OTHER", other);
                }
            }
            return t;
        }

        String tokenText(long id) {
            if (tokens == null || id < 0 || id >= tokens.length()) {
                return "";
            }
            return " (" + tokens.stringAt((int) id).replace("\n", "\\n") + ")";
        }
    }
}
