package dev.gemma4j.structured;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gemma4j.cpu.CpuEngine;
import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.Generator;
import dev.gemma4j.engine.KvCacheType;
import dev.gemma4j.engine.Session;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.sampling.Sampler;
import dev.gemma4j.sampling.SamplerConfig;
import dev.gemma4j.sampling.StopTokens;
import dev.gemma4j.synth.SynthConfig;
import dev.gemma4j.synth.SynthModel;
import dev.gemma4j.synth.SynthType;
import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A random-weight model, constrained, writes JSON that parses and validates against the schema (reference:
 * networknt json-schema-validator), for every schema case, greedy and sampled with several seeds. Without the
 * constraint such a model writes no JSON at all, so the outputs owe their validity to the mask alone.
 */
class SynthGenerationTest {
    @TempDir
    static Path dir;
    static GgufFile gguf;
    static CpuEngine engine;
    static Gemma4Tokenizer tokenizer;
    static StopTokens stops;
    static TokenIndex index;
    static int[] prompt;

    static final int MAX_TOKENS = 2000;

    @BeforeAll
    static void model() throws Exception {
        Path f = dir.resolve("tiny.gguf");
        SynthModel.write(SynthModel.plan(SynthConfig.preset("tiny"), SynthType.Q8_0, 11), f, 1);
        gguf = GgufFile.open(f);
        engine = new CpuEngine(gguf, new EngineOptions(MAX_TOKENS + 64, KvCacheType.F32, 1, 64));
        tokenizer = Gemma4Tokenizer.fromGguf(gguf);
        stops = StopTokens.of(gguf);
        index = TokenIndex.of(tokenizer, stops.ids());
        prompt = tokenizer.encode("<|turn>user\nAnswer in JSON.<turn|>\n<|turn>model\n", true, true);
    }

    @AfterAll
    static void close() {
        engine.close();
        gguf.close();
    }

    static Stream<Arguments> runs() {
        List<Arguments> runs = new ArrayList<>();
        for (SchemaCases.Case c : SchemaCases.ALL) {
            runs.add(Arguments.of(c, "greedy", SamplerConfig.greedy()));
            for (long seed : new long[] {1, 2, 3}) {
                runs.add(Arguments.of(c, "seed " + seed, SamplerConfig.gemmaDefaults(seed)));
            }
            // nearly uniform over the allowed tokens: the constraint alone decides what is written
            runs.add(Arguments.of(c, "seed 4 T=1.5 top-k 0", new SamplerConfig(1.5f, 0, 1f, 0f, 1f, 0f, 0f, 64, 4)));
        }
        return runs.stream();
    }

    static Stream<Arguments> samplers() {
        List<Arguments> runs = new ArrayList<>();
        runs.add(Arguments.of("greedy", SamplerConfig.greedy()));
        for (long seed : new long[] {1, 2, 3, 4, 5}) {
            runs.add(Arguments.of("seed " + seed, SamplerConfig.gemmaDefaults(seed)));
        }
        return runs.stream();
    }

    /** Forced tool calls: the output parser finds 1..2 calls whose arguments validate against their tool. */
    @ParameterizedTest(name = "tool calls {0}")
    @MethodSource("samplers")
    void generatesValidToolCalls(String label, SamplerConfig cfg) throws Exception {
        JsonConstraint constraint = new JsonConstraint(index, ToolCallGrammar.compile(ToolCallGrammarTest.tools(), false, 1, 2));
        Generator.Result r;
        try (Session s = engine.newSession()) {
            r = Generator.generate(engine, s, prompt, new Sampler(cfg, engine.config().vocabSize()), stops, MAX_TOKENS,
                constraint, null);
        }
        String text = tokenizer.decode(r.ids(), false);
        assertEquals(Generator.FinishReason.STOP, r.finishReason(), () -> "did not finish: " + text);
        ToolCallGrammarTest.checkCalls(text, 1, 2);
    }

    @org.junit.jupiter.api.Test
    void withoutTheConstraintTheModelWritesNoValidJson() {
        // the control for the claim above: the same model, unconstrained, fails the same check
        SchemaCases.Case c = SchemaCases.ALL.get(0);
        Generator.Result r;
        try (Session s = engine.newSession()) {
            r = Generator.generate(engine, s, prompt, new Sampler(SamplerConfig.greedy(), engine.config().vocabSize()), stops,
                200, null);
        }
        String text = tokenizer.decode(r.ids(), false);
        assertTrue(!SchemaCases.valid(c.reference(), text), text);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("runs")
    void generatesValidJson(SchemaCases.Case c, String label, SamplerConfig cfg) throws Exception {
        JsonConstraint constraint = new JsonConstraint(index, c.compile());
        StringBuilder streamed = new StringBuilder();
        var decoder = tokenizer.streamingDecoder(false);
        Generator.Result r;
        try (Session s = engine.newSession()) {
            r = Generator.generate(engine, s, prompt, new Sampler(cfg, engine.config().vocabSize()), stops, MAX_TOKENS,
                constraint, t -> {
                    streamed.append(decoder.accept(t));
                    return true;
                });
        }
        streamed.append(decoder.flush());
        String text = tokenizer.decode(r.ids(), false);
        assertEquals(Generator.FinishReason.STOP, r.finishReason(), () -> "did not finish: " + text);
        assertEquals(text, streamed.toString());
        JsonNode parsed = SchemaCases.parse(text);
        assertEquals(List.of(), List.copyOf(SchemaCases.validate(c.reference(), parsed)), () -> text);
    }
}
