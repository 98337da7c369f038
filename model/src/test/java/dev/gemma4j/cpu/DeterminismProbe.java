package dev.gemma4j.cpu;

import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.KvCacheType;
import dev.gemma4j.engine.Session;
import dev.gemma4j.gguf.GgufFile;
import java.nio.file.Path;

/**
 * Prints a fingerprint of the exact logits (every bit) of a fixed greedy run: a prompt, then decoding steps
 * that feed back the argmax. {@link DeterminismTest} runs it in fresh JVMs with different flags and thread
 * counts and compares the lines. Arguments: model file, threads, repeats (the last repeat is printed; earlier
 * ones warm the JIT up), and optionally prompt tokens and steps (default: the whole prompt and {@link #STEPS}).
 */
public final class DeterminismProbe {
    static final int[] PROMPT = {2, 10, 50, 300, 20, 7, 9, 100, 200};
    static final int STEPS = 3;

    private DeterminismProbe() {
    }

    public static void main(String[] args) throws Exception {
        int threads = Integer.parseInt(args[1]);
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        int promptLength = args.length > 3 ? Integer.parseInt(args[3]) : PROMPT.length;
        int steps = args.length > 4 ? Integer.parseInt(args[4]) : STEPS;
        try (GgufFile gguf = GgufFile.open(Path.of(args[0]))) {
            String last = null;
            for (int r = 0; r < repeats; r++) {
                last = fingerprint(gguf, threads, promptLength, steps);
            }
            System.out.println("FINGERPRINT " + last);
        }
    }

    /** Fingerprint of the logits after the prompt and after each greedy step, with a fresh engine. */
    static String fingerprint(GgufFile gguf, int threads) {
        return fingerprint(gguf, threads, PROMPT.length, STEPS);
    }

    static String fingerprint(GgufFile gguf, int threads, int promptLength, int steps) {
        StringBuilder b = new StringBuilder();
        try (CpuEngine e = new CpuEngine(gguf, new EngineOptions(64, KvCacheType.F32, threads, 8)); Session s = e.newSession()) {
            float[] logits = e.prefill(s, java.util.Arrays.copyOf(PROMPT, promptLength));
            for (int step = 0; step <= steps; step++) {
                long h = 1125899906842597L;
                int best = 0;
                for (int i = 0; i < logits.length; i++) {
                    h = 31 * h + Float.floatToRawIntBits(logits[i]);
                    if (logits[i] > logits[best]) {
                        best = i;
                    }
                }
                b.append(Long.toHexString(h)).append(step < steps ? "," : "");
                if (step < steps) {
                    e.decode(s, best, logits);
                }
            }
        }
        return b.toString();
    }
}
