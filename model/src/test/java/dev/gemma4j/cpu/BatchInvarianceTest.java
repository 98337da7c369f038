package dev.gemma4j.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.KvCacheType;
import dev.gemma4j.engine.Session;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.synth.SynthConfig;
import dev.gemma4j.synth.SynthModel;
import dev.gemma4j.synth.SynthType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * With {@link EngineOptions#batchInvariant()} a sequence's logits are bit-identical whether it is stepped
 * alone or together with other decoding sequences and a prompt being read (what the server's continuous
 * batching does); without it, quantized weights give slightly different logits (so the option matters).
 */
class BatchInvarianceTest {
    @TempDir
    static Path dir;

    static final int[] PROMPT_A = {2, 10, 50, 300, 20, 7, 9, 100, 200, 150, 33, 44};
    static final int[] PROMPT_B = {2, 77, 88, 99, 111};
    static final int[] PROMPT_C = {2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21};
    static final int STEPS = 6;

    static Path model(String type) throws Exception {
        Path p = dir.resolve(type + ".gguf");
        if (!p.toFile().exists()) {
            SynthModel.write(SynthModel.plan(SynthConfig.preset("tiny"), SynthType.parse(type), 3), p, 2);
        }
        return p;
    }

    static int argmax(float[] l) {
        int b = 0;
        for (int i = 1; i < l.length; i++) {
            if (l[i] > l[b]) {
                b = i;
            }
        }
        return b;
    }

    /** A's logits after its prompt and after each of STEPS greedy tokens, stepped alone. */
    static List<float[]> alone(CpuEngine e) {
        List<float[]> out = new ArrayList<>();
        try (Session a = e.newSession()) {
            float[] l = new float[e.config().vocabSize()];
            e.step(List.of(a), new int[][] {PROMPT_A}, new float[][] {l});
            out.add(l.clone());
            for (int i = 0; i < STEPS; i++) {
                e.step(List.of(a), new int[][] {{argmax(l)}}, new float[][] {l});
                out.add(l.clone());
            }
        }
        return out;
    }

    /** The same for A while B decodes next to it and C's prompt is read in pieces in the same steps. */
    static List<float[]> crowded(CpuEngine e) {
        List<float[]> out = new ArrayList<>();
        int v = e.config().vocabSize();
        try (Session a = e.newSession(); Session b = e.newSession(); Session c = e.newSession()) {
            float[] la = new float[v];
            float[] lb = new float[v];
            e.prefill(b, PROMPT_B, lb);
            // A's prompt shares its step with B's decoding row
            e.step(List.of(b, a), new int[][] {{argmax(lb)}, PROMPT_A}, new float[][] {lb, la});
            out.add(la.clone());
            int cRead = 0;
            for (int i = 0; i < STEPS; i++) {
                if (cRead < PROMPT_C.length) {
                    int to = Math.min(PROMPT_C.length, cRead + 5);
                    int[] piece = Arrays.copyOfRange(PROMPT_C, cRead, to);
                    e.step(List.of(c, a, b), new int[][] {piece, {argmax(la)}, {argmax(lb)}}, new float[][] {null, la, lb});
                    cRead = to;
                } else {
                    e.step(List.of(a, b), new int[][] {{argmax(la)}, {argmax(lb)}}, new float[][] {la, lb});
                }
                out.add(la.clone());
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"F32", "Q8_0", "Q4_K_M", "MXFP4_MOE"})
    void logitsDoNotDependOnTheBatch(String type) throws Exception {
        try (GgufFile g = GgufFile.open(model(type));
             CpuEngine e = new CpuEngine(g, new EngineOptions(256, KvCacheType.F32, 2, 8, true))) {
            List<float[]> x = alone(e);
            List<float[]> y = crowded(e);
            for (int i = 0; i < x.size(); i++) {
                assertArrayEquals(x.get(i), y.get(i), type + ": step " + i);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q8_0", "Q4_K_M"})
    void withoutTheOptionQuantizedKernelsDependOnTheBatch(String type) throws Exception {
        try (GgufFile g = GgufFile.open(model(type));
             CpuEngine e = new CpuEngine(g, new EngineOptions(256, KvCacheType.F32, 2, 8, false))) {
            List<float[]> x = alone(e);
            List<float[]> y = crowded(e);
            boolean same = true;
            for (int i = 0; i < x.size(); i++) {
                same &= Arrays.equals(x.get(i), y.get(i));
            }
            assertFalse(same, type + ": the single-row kernel sums in another order than the batched one");
        }
    }
}
