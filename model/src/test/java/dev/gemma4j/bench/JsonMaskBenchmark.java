package dev.gemma4j.bench;

import dev.gemma4j.structured.JsonConstraint;
import dev.gemma4j.structured.JsonGrammar;
import dev.gemma4j.structured.JsonSchemaCompiler;
import dev.gemma4j.structured.TokenIndex;
import dev.gemma4j.structured.ToolCallGrammar;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gemma4j.tokenizer.Gemma4TestVocabulary;
import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Per-step cost of the JSON-schema token mask ({@link JsonConstraint#process}) on the full 262,144-token
 * test vocabulary ({@link Gemma4TestVocabulary}). A realistic output is tokenized with that vocabulary and the
 * constraint is set up at every token boundary of it; one operation masks the logits at the next boundary in
 * turn, so the average is over the states a real output passes through (keys, numbers, long free strings,
 * nested objects). {@code grammar=schema} uses a schema with declared properties, {@code grammar=json_object}
 * the free-form object of {@code response_format: json_object}. Command: docs/benchmarks.md, "JSON mask".
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
@State(Scope.Thread)
public class JsonMaskBenchmark {
    static final String SCHEMA = """
        {"type":"object","properties":{
          "name":{"type":"string"},"age":{"type":"integer"},"email":{"type":"string","maxLength":64},
          "tags":{"type":"array","items":{"type":"string"},"maxItems":8},
          "address":{"type":"object","properties":{"city":{"type":"string"},"zip":{"type":"string"}},"required":["city","zip"]},
          "active":{"type":"boolean"},"score":{"type":"number"},"bio":{"type":["string","null"]},
          "kind":{"enum":["person","company","other"]}},
         "required":["name","age","email","tags","address","active","score","bio","kind"],"additionalProperties":false}""";

    static final String OUTPUT = "{\"name\": \"Ada Lovelace\", \"age\": 36, \"email\": \"ada@example.com\", "
        + "\"tags\": [\"math\", \"poetry\", \"analytical engine\"], \"address\": {\"city\": \"London\", \"zip\": \"W1J 7NT\"}, "
        + "\"active\": true, \"score\": 98.25, \"bio\": \"English mathematician and writer, chiefly known for her work on "
        + "Charles Babbage's proposed mechanical general-purpose computer, the Analytical Engine. She was the first to "
        + "recognise that the machine had applications beyond pure calculation.\", \"kind\": \"person\"}";

    static final String TOOL_OUTPUT = "<|tool_call>call:search{filters:[<|\"|>recent<|\"|>,<|\"|>english<|\"|>],limit:10,"
        + "query:<|\"|>Who proposed the Analytical Engine, and what did Ada Lovelace write about its applications "
        + "beyond pure calculation?<|\"|>}<tool_call|>";

    @Param({"schema", "json_object", "tool_call"})
    public String grammar;

    private JsonConstraint[] steps;
    private float[] logits;
    private int next;

    @Setup
    public void setUp() throws Exception {
        Gemma4Tokenizer tokenizer = Gemma4Tokenizer.fromMetadata(Gemma4TestVocabulary.metadata());
        long t0 = System.nanoTime();
        TokenIndex index = TokenIndex.of(tokenizer, tokenizer.endOfGenerationIds());
        long t1 = System.nanoTime();
        JsonGrammar g = switch (grammar) {
            case "schema" -> JsonSchemaCompiler.compile(SCHEMA, true);
            case "json_object" -> JsonSchemaCompiler.anyObject();
            default -> ToolCallGrammar.compile(List.of(new ToolCallGrammar.Tool("search", new ObjectMapper().readTree("""
                {"type":"object","properties":{"query":{"type":"string"},"limit":{"type":"integer"},
                 "filters":{"type":"array","items":{"type":"string"}}}}""")), new ToolCallGrammar.Tool("other", null)), true, 1, 1);
        };
        int[] ids = grammar.equals("tool_call") ? tokenizer.encode(TOOL_OUTPUT, false, true) : tokenizer.encode(OUTPUT, false, false);
        List<JsonConstraint> list = new ArrayList<>();
        for (int k = 0; k <= ids.length; k++) {
            JsonConstraint c = new JsonConstraint(index, g);
            for (int i = 0; i < k; i++) {
                c.accept(ids[i]);
            }
            list.add(c);
        }
        steps = list.toArray(JsonConstraint[]::new);
        logits = new float[tokenizer.vocabSize()];
        System.out.printf("%n%d tokens, vocabulary %d, index built in %.0f ms%n", ids.length, tokenizer.vocabSize(), (t1 - t0) / 1e6);
    }

    /** Per-position profile outside JMH: the slowest boundaries after a warm-up (for finding worst cases). */
    public static void main(String[] args) throws Exception {
        for (String g : args.length > 0 ? args : new String[] {"schema", "json_object", "tool_call"}) {
            JsonMaskBenchmark b = new JsonMaskBenchmark();
            b.grammar = g;
            b.setUp();
            long[] best = new long[b.steps.length];
            java.util.Arrays.fill(best, Long.MAX_VALUE);
            for (int round = 0; round < 30; round++) {
                for (int i = 0; i < b.steps.length; i++) {
                    long t0 = System.nanoTime();
                    b.steps[i].process(b.logits);
                    best[i] = Math.min(best[i], System.nanoTime() - t0);
                }
            }
            long sum = 0;
            int worst = 0;
            for (int i = 0; i < best.length; i++) {
                sum += best[i];
                worst = best[i] > best[worst] ? i : worst;
            }
            System.out.printf("%s: mean of per-position minima %.1f us, worst position %d: %.1f us%n", g,
                sum / 1e3 / best.length, worst, best[worst] / 1e3);
        }
    }

    @Benchmark
    public float maskOneStep() {
        JsonConstraint c = steps[next];
        next = next + 1 == steps.length ? 0 : next + 1;
        c.process(logits);
        return logits[next];
    }
}
