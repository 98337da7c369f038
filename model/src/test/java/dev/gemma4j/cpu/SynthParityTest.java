package dev.gemma4j.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.Session;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.synth.SynthConfig;
import dev.gemma4j.synth.SynthModel;
import dev.gemma4j.synth.SynthType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Parity with llama.cpp on the {@code synth} "tiny" model (D 256, 5 layers S S F S S, window 16, 2048-token
 * vocabulary, merged experts) in every file type the synth generator writes, including the K-quant mixes:
 * last-position log-probabilities after 1, 24 and 40 prompt tokens (evaluated in chunks of 16, so chunks
 * straddle the window) and 32-token greedy continuations.
 * <p>
 * Tolerances (measured values in brackets). F32: 2e-3 at the first position [1e-5 to 8e-4], 5e-3 after [1.5e-3 to 2.2e-3]:
 * summation order only, GELU as llama.cpp's table. Quantized and 16-bit types: the engine rounds
 * activations as llama.cpp does per weight type (spec §8.3), so a single position agrees to ~1e-5 [4e-6 to
 * 8e-6 for BF16, Q8_0, Q4_0, Q4_K_M, Q6_K, MXFP4; F16 1e-2, not explained yet]; the bound there is 0.3
 * because an activation a few ulps from a rounding boundary can flip on one side only (even between runs:
 * vector reductions change lane order once compiled). Over 24-40 tokens such flips compound through the
 * layers of these random models [0.2 to 1.5 logit; spec §8.3 reports 0.05-0.2 on its models], so the
 * max-difference bound is loose (2.0) and the stronger checks are top-1 agreement and the greedy runs,
 * which may part only where llama.cpp's own top-two gap is below 0.5 [parting gaps seen: 0.01-0.41]. */
class SynthParityTest {
    @TempDir
    static Path dir;

    static Stream<Arguments> types() {
        // type, tolerance after 24/40 tokens, near-tie gap, tolerance at the first position
        return Stream.of(
            Arguments.of(SynthType.F32, 5e-3, 0.02, 2e-3),
            Arguments.of(SynthType.F16, 5e-2, 0.1, 3e-2),
            Arguments.of(SynthType.BF16, 1.0, 0.5, 0.3),
            Arguments.of(SynthType.Q8_0, 2.0, 0.5, 0.3),
            Arguments.of(SynthType.Q4_0, 2.0, 0.5, 0.3),
            Arguments.of(SynthType.Q4_K_M, 2.0, 0.5, 0.3),
            Arguments.of(SynthType.Q6_K, 2.0, 0.5, 0.3),
            Arguments.of(SynthType.MXFP4_MOE, 2.0, 0.5, 0.3));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void matchesLlamaCpp(SynthType type, double tolerance, double nearTie, double firstTolerance) throws Exception {
        Path file = dir.resolve("synth-" + type + ".gguf");
        SynthModel.write(SynthModel.plan(SynthConfig.preset("tiny"), type, 3), file, 1);
        Random rnd = new Random(type.ordinal());
        List<int[]> prompts = new ArrayList<>();
        int vocab;
        try (GgufFile g = GgufFile.open(file)) {
            vocab = dev.gemma4j.model.Gemma4Config.read(g).vocabSize();
        }
        for (int len : new int[] {1, 24, 40}) {
            int[] p = new int[len];
            p[0] = 2;
            for (int i = 1; i < len; i++) {
                p[i] = 110 + rnd.nextInt(vocab - 110);
            }
            prompts.add(p);
        }
        int greedyN = 32;
        List<LlamaReference.Result> ref = LlamaReference.run(file, vocab, 256, 16, "F32",
            prompts.stream().map(p -> new LlamaReference.Request(p, greedyN)).toList());
        EngineOptions opts = EngineOptions.defaults().withContextLength(256).withThreads(1).withPrefillChunk(16);
        try (GgufFile g = GgufFile.open(file); CpuEngine engine = new CpuEngine(g, opts)) {
            for (int i = 0; i < prompts.size(); i++) {
                int[] prompt = prompts.get(i);
                LlamaReference.Result r = ref.get(i);
                try (Session s = engine.newSession()) {
                    float[] logits = engine.prefill(s, prompt);
                    double[] ours = CpuEngineParityTest.logSoftmax(logits);
                    double maxDiff = 0;
                    for (int t = 0; t < ours.length; t++) {
                        maxDiff = Math.max(maxDiff, Math.abs(ours[t] - r.logprobs()[t]));
                    }
                    String what = type + ", prompt of " + prompt.length;
                    System.out.println("PARITY " + what + " maxdiff " + maxDiff);
                    assertTrue(maxDiff < (prompt.length == 1 ? firstTolerance : tolerance), what + ": max |Δ log p| = " + maxDiff);
                    assertEquals(CpuEngineParityTest.argmax(r.logprobs()), CpuEngineParityTest.argmax(ours), what + ": top-1");
                    for (int step = 0; step < greedyN; step++) {
                        int next = CpuEngineParityTest.argmax(logits);
                        if (next != r.greedy()[step]) {
                            System.out.println("PARTED " + what + " step " + step + " gap " + r.gaps()[step]);
                            assertTrue(r.gaps()[step] < nearTie, what + ": greedy parts at step " + step + " where llama.cpp's top-two gap is "
                                + r.gaps()[step]);
                            break;
                        }
                        if (step + 1 < greedyN) {
                            engine.decode(s, next, logits);
                        }
                    }
                }
            }
        }
    }
}
