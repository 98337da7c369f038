package dev.gemma4j.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.Session;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.tensor.GgmlType;
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
 * Parity with llama.cpp (node-llama-cpp 3.21.1, run at test time) on random-weight F32 models of several
 * shapes: last-position log-probabilities, top-1, and 32-token greedy continuations.
 * <p>
 * Tolerances, F32 weights and an F32 KV cache on both sides: log-probabilities within 1e-2 (spec §8.1
 * gives ~1e-3 for an exact-f32 implementation; the rest is llama.cpp's f16 GELU table (§8.3) and a
 * different summation order, amplified over 6 layers and a soft-capped head). Greedy runs may part only
 * where llama.cpp's own top-two log-probability gap is below 0.02, i.e. a near-tie that a 1e-2 error can flip.
 */
class CpuEngineParityTest {
    static final double LOGPROB_TOLERANCE = 3e-3;
    static final double NEAR_TIE = 0.02;
    static final int GREEDY = 32;

    @TempDir
    static Path dir;

    static Stream<Arguments> models() {
        TinyGemma4 std = TinyGemma4.standard();
        return Stream.of(
            Arguments.of("merged experts, tied head, V=K on the global layer", std),
            Arguments.of("split experts, untied head", std.withSeed(7).withVariant(true, false, false, false)),
            Arguments.of("attn_v on the global layer", std.withSeed(11).withVariant(false, true, true, false)),
            Arguments.of("dense layers (no MoE)", std.withSeed(13).withVariant(false, true, false, true)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void matchesLlamaCpp(String name, TinyGemma4 spec) throws Exception {
        check(name, spec, LOGPROB_TOLERANCE, NEAR_TIE, LOGPROB_TOLERANCE);
    }

    static Stream<Arguments> formats() {
        // The engine rounds activations as llama.cpp does for each weight type (f16 / bf16, 8-bit blocks of 32),
        // so a single position agrees to ~1e-6. Over longer prompts an activation that lands next to a rounding
        // boundary flips one 8-bit step on one side only, and that difference grows through the layers
        // (spec §8.3: 0.05 to 0.2 logit): hence the per-format tolerance and near-tie gap. Q4_1/Q5_1 use llama.cpp's
        // Q8_1 activations, whose f16 block sum (multiplied by the weight's min) is not reproduced, so they stay ~0.1-0.3.
        return Stream.of(
            Arguments.of(GgmlType.F16, 2e-2, 0.05, true),
            Arguments.of(GgmlType.BF16, 1.5e-1, 0.3, true),
            Arguments.of(GgmlType.Q8_0, 4e-1, 0.3, true),
            Arguments.of(GgmlType.Q4_0, 4e-1, 0.3, true),
            Arguments.of(GgmlType.Q5_1, 5e-1, 0.3, false));
    }

    @ParameterizedTest(name = "{0} weights")
    @MethodSource("formats")
    void quantizedWeightsMatchLlamaCpp(GgmlType type, double tolerance, double nearTie, boolean exactFirstPosition) throws Exception {
        check(type + " weights", TinyGemma4.standard().withSeed(100 + type.id()).withWeightType(type), tolerance, nearTie,
            exactFirstPosition ? 1e-4 : tolerance);
    }

    private void check(String name, TinyGemma4 spec, double tolerance, double nearTie, double singleTokenTolerance) throws Exception {
        Path file = dir.resolve("m" + spec.seed() + (spec.splitExperts() ? "s" : "") + (spec.denseLayers() ? "d" : "") + ".gguf");
        spec.write(file);
        Random rnd = new Random(spec.seed());
        List<int[]> prompts = new ArrayList<>();
        for (int len : new int[] {1, 5, 13, 40}) {
            int[] p = new int[len];
            p[0] = 2;
            for (int i = 1; i < len; i++) {
                p[i] = 9 + rnd.nextInt(spec.vocab() - 9);
            }
            prompts.add(p);
        }
        List<LlamaReference.Request> reqs = prompts.stream().map(p -> new LlamaReference.Request(p, GREEDY)).toList();
        // llama.cpp evaluates the prompt in micro-batches of 16, as the engine does below: with a window of 8,
        // the 40-token prompt's chunks straddle the window.
        List<LlamaReference.Result> ref = LlamaReference.run(file, spec.vocab(), 256, 16, "F32", reqs);
        EngineOptions opts = EngineOptions.defaults().withContextLength(256).withThreads(1).withPrefillChunk(16);
        try (GgufFile g = GgufFile.open(file); CpuEngine engine = new CpuEngine(g, opts)) {
            for (int i = 0; i < prompts.size(); i++) {
                int[] prompt = prompts.get(i);
                LlamaReference.Result r = ref.get(i);
                try (Session s = engine.newSession()) {
                    float[] logits = engine.prefill(s, prompt);
                    double[] ours = logSoftmax(logits);
                    double maxDiff = 0;
                    for (int t = 0; t < ours.length; t++) {
                        maxDiff = Math.max(maxDiff, Math.abs(ours[t] - r.logprobs()[t]));
                    }
                    String what = name + ", prompt of " + prompt.length;
                    System.out.println("PARITY " + what + " maxdiff " + maxDiff);
                    assertTrue(maxDiff < (prompt.length == 1 ? singleTokenTolerance : tolerance), what + ": max |Δ log p| = " + maxDiff);
                    assertEquals(argmax(r.logprobs()), argmax(ours), what + ": top-1");
                    int[] greedy = new int[GREEDY];
                    for (int step = 0; step < GREEDY; step++) {
                        greedy[step] = argmax(logits);
                        if (step + 1 < GREEDY) {
                            engine.decode(s, greedy[step], logits);
                        }
                    }
                    for (int step = 0; step < GREEDY; step++) {
                        if (greedy[step] != r.greedy()[step]) {
                            System.out.println("PARTED " + what + " step " + step + " gap " + r.gaps()[step]);
                            assertTrue(r.gaps()[step] < nearTie, what + ": greedy parts at step " + step + " (ours "
                                + greedy[step] + ", llama.cpp " + r.greedy()[step] + ") where llama.cpp's top-two gap is "
                                + r.gaps()[step]);
                            break;
                        }
                    }
                }
            }
        }
    }

    static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float x : logits) {
            max = Math.max(max, x);
        }
        double sum = 0;
        for (float x : logits) {
            sum += Math.exp(x - max);
        }
        double lse = max + Math.log(sum);
        double[] r = new double[logits.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = logits[i] - lse;
        }
        return r;
    }

    static int argmax(double[] v) {
        int b = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[b]) {
                b = i;
            }
        }
        return b;
    }

    static int argmax(float[] v) {
        int b = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[b]) {
                b = i;
            }
        }
        return b;
    }
}
