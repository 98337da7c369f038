package dev.gemma4j.bench;

import dev.gemma4j.cpu.CpuEngine;
import dev.gemma4j.cpu.StepProfile;
import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.KvCacheType;
import dev.gemma4j.engine.Session;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.model.Gemma4Config;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.Random;

/**
 * Prefill cost per prompt token in CPU time of the calling thread, with one engine thread (a fourth argument
 * sets the thread count; {@code -Dgemma4j.profile=true} adds a breakdown of the last pass by part): one chunk of
 * P random tokens into an empty context, as {@code gemma bench -p P} does. Arguments: model file, P (default
 * 128), passes (default 3; the first warms up).
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx8g \
 *   -cp model/target/classes:model/target/test-classes dev.gemma4j.bench.PrefillCpuTime /work/models/quarter-q4km.gguf 128 3
 * </pre>
 */
public final class PrefillCpuTime {
    private PrefillCpuTime() {
    }

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        int tokens = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        int passes = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        int threads = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        ThreadMXBean tm = ManagementFactory.getThreadMXBean();
        try (GgufFile gguf = GgufFile.open(model)) {
            Gemma4Config cfg = Gemma4Config.read(gguf);
            EngineOptions opts = new EngineOptions(tokens + 1, KvCacheType.F32, threads, tokens);
            Random rnd = new Random(1234);
            float[] logits = new float[cfg.vocabSize()];
            int[] prompt = new int[tokens];
            try (CpuEngine e = new CpuEngine(gguf, opts)) {
                for (int pass = 0; pass < passes; pass++) {
                    for (int i = 0; i < tokens; i++) {
                        prompt[i] = rnd.nextInt(cfg.vocabSize());
                    }
                    try (Session s = e.newSession()) {
                        StepProfile.reset();
                        long c0 = tm.getCurrentThreadCpuTime();
                        long w0 = System.nanoTime();
                        e.prefill(s, prompt, logits);
                        long cpu = tm.getCurrentThreadCpuTime() - c0;
                        long wall = System.nanoTime() - w0;
                        System.out.printf("pass %d%s: %.2f ms CPU/token (%.2f tokens per CPU-second), %.2f ms wall/token%n", pass,
                            pass == 0 ? " (warm-up)" : "", cpu / 1e6 / tokens, tokens / (cpu / 1e9), wall / 1e6 / tokens);
                        if (StepProfile.ENABLED && pass == passes - 1) {
                            System.out.print(StepProfile.report(tokens, cpu, wall));
                        }
                    }
                }
            }
        }
    }
}
