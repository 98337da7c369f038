package dev.gemma4j.bench;

import dev.gemma4j.cpu.CpuEngine;
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
 * Decode cost per token in CPU time of the decoding thread, with one engine thread (a fourth argument sets
 * the thread count; {@code -Dgemma4j.profile=true} adds a breakdown of the last pass by part of the step): on a machine shared with
 * other jobs the wall clock of {@code gemma bench} mostly measures the scheduler, while this measures the
 * kernels and the engine's single-thread work. Arguments: model file, tokens per pass (default 16), passes
 * (default 3; the first warms up and is not counted), threads (default 1), sessions decoding together (default
 * 1; then CPU ms per step and per token of all sessions), batchInvariant (default false), mmap (default true; false
 * copies the weights into memory first, as {@code --no-mmap}).
 * <pre>
 * ./mvnw -B -q -pl model test-compile
 * $JAVA_HOME/bin/java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:-UseBimorphicInlining \
 *   -Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0 -Xmx4g -cp model/target/classes:model/target/test-classes \
 *   dev.gemma4j.bench.DecodeCpuTime /work/models/quarter-q4km.gguf 12 3
 * </pre>
 */
public final class DecodeCpuTime {
    private DecodeCpuTime() {
    }

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        int tokens = args.length > 1 ? Integer.parseInt(args[1]) : 16;
        int passes = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        ThreadMXBean tm = ManagementFactory.getThreadMXBean();
        try (GgufFile gguf = GgufFile.open(model)) {
            Gemma4Config cfg = Gemma4Config.read(gguf);
            int threads = args.length > 3 ? Integer.parseInt(args[3]) : 1;
            int sessions = args.length > 4 ? Integer.parseInt(args[4]) : 1;
            boolean invariant = args.length > 5 && Boolean.parseBoolean(args[5]);
            boolean mmap = args.length <= 6 || Boolean.parseBoolean(args[6]);
            EngineOptions opts = new EngineOptions(tokens + 1, KvCacheType.F32, threads, Math.max(1, sessions), invariant, mmap);
            if (sessions > 1) {
                multi(opts, gguf, cfg, tokens, passes, sessions, tm);
                return;
            }
            Random rnd = new Random(1234);
            float[] logits = new float[cfg.vocabSize()];
            try (CpuEngine e = new CpuEngine(gguf, opts)) {
                for (int pass = 0; pass < passes; pass++) {
                    try (Session s = e.newSession()) {
                        dev.gemma4j.cpu.StepProfile.reset();
                        long c0 = tm.getCurrentThreadCpuTime();
                        long u0 = tm.getCurrentThreadUserTime();
                        long w0 = System.nanoTime();
                        for (int i = 0; i < tokens; i++) {
                            e.decode(s, rnd.nextInt(cfg.vocabSize()), logits);
                        }
                        double cpu = (tm.getCurrentThreadCpuTime() - c0) / 1e9 / tokens;
                        double user = (tm.getCurrentThreadUserTime() - u0) / 1e9 / tokens;
                        double wall = (System.nanoTime() - w0) / 1e9 / tokens;
                        System.out.printf("pass %d%s: %.1f ms CPU/token (%.1f user, %.1f system; %.2f tokens per CPU-second), %.1f ms wall/token%n",
                                pass, pass == 0 ? " (warm-up)" : "", cpu * 1e3, user * 1e3, (cpu - user) * 1e3, 1 / cpu, wall * 1e3);
                        if (dev.gemma4j.cpu.StepProfile.ENABLED && pass == passes - 1) {
                            System.out.print(dev.gemma4j.cpu.StepProfile.report(tokens, (long) (cpu * 1e9 * tokens),
                                    (long) (wall * 1e9 * tokens)));
                        }
                    }
                }
            }
        }
    }

    /** {@code sessions} sessions decoding together, one {@code Engine.decode} step for all per token. */
    private static void multi(EngineOptions opts, GgufFile gguf, Gemma4Config cfg, int tokens, int passes, int sessions,
                              ThreadMXBean tm) {
        Random rnd = new Random(1234);
        float[][] logits = new float[sessions][cfg.vocabSize()];
        int[] next = new int[sessions];
        try (CpuEngine e = new CpuEngine(gguf, opts)) {
            for (int pass = 0; pass < passes; pass++) {
                java.util.List<Session> ss = new java.util.ArrayList<>();
                for (int k = 0; k < sessions; k++) {
                    ss.add(e.newSession());
                }
                dev.gemma4j.cpu.StepProfile.reset();
                long c0 = tm.getCurrentThreadCpuTime();
                long w0 = System.nanoTime();
                for (int i = 0; i < tokens; i++) {
                    for (int k = 0; k < sessions; k++) {
                        next[k] = rnd.nextInt(cfg.vocabSize());
                    }
                    e.decode(ss, next, logits);
                }
                double cpu = (tm.getCurrentThreadCpuTime() - c0) / 1e6 / tokens;
                double wall = (System.nanoTime() - w0) / 1e6 / tokens;
                System.out.printf("pass %d%s: %d sessions: %.1f ms CPU/step, %.1f ms CPU/token (%.2f tokens per CPU-second), %.1f ms wall/step%n",
                    pass, pass == 0 ? " (warm-up)" : "", sessions, cpu, cpu / sessions, sessions * 1e3 / cpu, wall);
                if (dev.gemma4j.cpu.StepProfile.ENABLED && pass == passes - 1) {
                    System.out.print(dev.gemma4j.cpu.StepProfile.report(tokens, (long) (cpu * 1e6 * tokens), (long) (wall * 1e6 * tokens)));
                }
                for (Session s : ss) {
                    s.close();
                }
            }
        }
    }
}
