package dev.gemma4j.tornado;

import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.KvCacheType;
import dev.gemma4j.engine.Session;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.model.Gemma4Config;
import dev.gemma4j.synth.SynthConfig;
import dev.gemma4j.synth.SynthModel;
import dev.gemma4j.synth.SynthType;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Measurements for the closing note, not a test: decode time per token, kernel launches and steps
 * per token, and device kernel time per task kind (TornadoVM's profiler) on a synth model.
 * Run with {@code -Dtornado.bench=true [-Dtornado.bench.preset=tiny|small] [-Dtornado.bench.type=Q4_K_M]
 * [-Dtornado.bench.kv=f32|f16]}; {@code prefill} also takes {@code -Dtornado.bench.prompt=64} and
 * {@code -Dtornado.bench.tile=8} (0: the plain matvec for every product); {@code decode} takes
 * {@code -Dtornado.bench.batch=1} (the plan's rows; with more than one the products are tiled).
 */
@EnabledIfSystemProperty(named = "tornado.bench", matches = "true")
class TornadoBenchmark {
    @TempDir
    static Path dir;

    /** Device memory the "full" synth model (26B-A4B shapes) would need, per file type, from its tensor plan. */
    @Test
    void fullModelMemory() {
        SynthConfig c = SynthConfig.preset("full");
        Gemma4Config.LayerConfig[] layers = new Gemma4Config.LayerConfig[c.layers()];
        for (int il = 0; il < layers.length; il++) {
            boolean sw = c.isSliding(il);
            layers[il] = new Gemma4Config.LayerConfig(sw, c.heads(), c.kvHeads(il), c.headDim(il), c.headDim(il),
                sw ? 10_000f : 1_000_000f, c.denseWidth(), c.expertsPerToken(), c.expertWidth());
        }
        Gemma4Config cfg = new Gemma4Config(c.width(), c.contextLength(), c.slidingWindow(), 1e-6f, c.experts(), 30f, c.vocab(), layers);
        for (SynthType t : new SynthType[] {SynthType.Q4_K_M, SynthType.Q6_K, SynthType.Q8_0, SynthType.MXFP4_MOE, SynthType.BF16}) {
            long weights = SynthModel.plan(c, t, 1).tensorBytes();
            for (int[] v : new int[][] {{4096, 1}, {4096, 4}, {32768, 4}, {131072, 1}}) {
                for (KvCacheType kv : KvCacheType.values()) {
                    long rest = ForwardPlan.estimateBytes(cfg, new Tuning(8, v[1], 128, 256, 128, 256, true), v[0], kv);
                    System.out.printf("BENCH full %-9s weights %6.2f GiB + KV/activations %5.2f GiB (context %d, %d sessions, %s KV) = %6.2f GiB%n",
                        t, weights / 1073741824.0, rest / 1073741824.0, v[0], v[1], kv, (weights + rest) / 1073741824.0);
                }
            }
        }
    }

    /**
     * Prefill throughput: a prompt of {@code tornado.bench.prompt} tokens (default 64) in chunks of the plan's batch
     * (8 rows), after a first prefill that compiles the kernels; then one 8-row chunk with the profiler on for the
     * device kernel time per task kind.
     */
    @Test
    void prefill() throws Exception {
        String preset = System.getProperty("tornado.bench.preset", "tiny");
        SynthType type = SynthType.parse(System.getProperty("tornado.bench.type", "Q4_K_M"));
        int promptLength = Integer.getInteger("tornado.bench.prompt", 64);
        // activation rows per tile of the weight products; 0: one work-group per (output, row), as before the tiles
        int tile = Integer.getInteger("tornado.bench.tile", Tuning.DEFAULT_TILE_ROWS);
        Path file = dir.resolve(preset + "-" + type + ".gguf");
        if (!java.nio.file.Files.exists(file)) {
            SynthModel.write(SynthModel.plan(SynthConfig.preset(preset), type, 1), file, 2);
        }
        EngineOptions opt = new EngineOptions(512, KvCacheType.F32, 2, 8);
        try (GgufFile gguf = GgufFile.open(file);
             TornadoEngine dev = new TornadoEngine(gguf, opt, new Tuning(8, 2, 64, 256, 64, 128, true, tile), null)) {
            int vocab = dev.config().vocabSize();
            int[] prompt = new int[promptLength];
            Random rnd = new Random(1);
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = 2 + rnd.nextInt(vocab - 2);
            }
            long t0 = System.nanoTime();
            try (Session s = dev.newSession()) {
                dev.prefill(s, prompt);
            }
            long t1 = System.nanoTime();
            var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            int runs = 3;
            for (int i = 0; i < runs; i++) {
                long c2 = os.getProcessCpuTime();
                long t2 = System.nanoTime();
                try (Session s = dev.newSession()) {
                    dev.prefill(s, prompt);
                }
                long t3 = System.nanoTime();
                long c3 = os.getProcessCpuTime();
                System.out.printf("BENCH prefill tile %d %s %s on %s: %d tokens in %.1f ms = %.1f tokens/s (process CPU %.2f ms/token);"
                        + " first prefill (compiles) %.1f s; %d kernel launches per step%n", tile, preset, type, dev.deviceName(), prompt.length,
                    (t3 - t2) / 1e6, prompt.length / ((t3 - t2) / 1e9), (c3 - c2) / 1e6 / prompt.length, (t1 - t0) / 1e9, dev.launchesPerStep());
            }
            dev.enableProfiler();
            Map<String, long[]> byKind = new TreeMap<>();
            try (Session s = dev.newSession()) {
                dev.prefill(s, java.util.Arrays.copyOf(prompt, 8));
            }
            Matcher m = Pattern.compile("\"(?:head|tail|layer\\d+)\\.([^\"]+)\"\\s*:\\s*\\{[^}]*?\"TASK_KERNEL_TIME\"\\s*:\\s*\"(\\d+)\"")
                .matcher(dev.lastProfile());
            while (m.find()) {
                String kind = m.group(1).replaceFirst("^l\\d+\\.", "");
                long[] acc = byKind.computeIfAbsent(kind, k -> new long[2]);
                acc[0] += Long.parseLong(m.group(2));
                acc[1]++;
            }
            System.out.printf("BENCH prefill chunk of 8 rows: device kernel time %.2f ms (profiler on)%n", dev.lastKernelNanos() / 1e6);
            for (var e : byKind.entrySet()) {
                System.out.printf("BENCH   %-28s %8.3f ms/chunk (%d launches)%n", e.getKey(), e.getValue()[0] / 1e6, e.getValue()[1]);
            }
        }
    }

    @Test
    void decode() throws Exception {
        String preset = System.getProperty("tornado.bench.preset", "tiny");
        SynthType type = SynthType.parse(System.getProperty("tornado.bench.type", "Q4_K_M"));
        Path file = dir.resolve(preset + "-" + type + ".gguf");
        SynthModel.write(SynthModel.plan(SynthConfig.preset(preset), type, 1), file, 2);
        KvCacheType kv = KvCacheType.valueOf(System.getProperty("tornado.bench.kv", "f32").toUpperCase(java.util.Locale.ROOT));
        EngineOptions opt = new EngineOptions(512, kv, 2, 8);
        // a plan for one row (matvec) by default; -Dtornado.bench.batch=8 decodes one row through a plan for 8 (tiles)
        int batch = Integer.getInteger("tornado.bench.batch", 1);
        int tile = Integer.getInteger("tornado.bench.tile", Tuning.DEFAULT_TILE_ROWS);
        try (GgufFile gguf = GgufFile.open(file);
             TornadoEngine dev = new TornadoEngine(gguf, opt, new Tuning(batch, 1, 64, 256, 64, 128, true, tile), null)) {
            int vocab = dev.config().vocabSize();
            int[] prompt = new int[16];
            Random rnd = new Random(1);
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = 2 + rnd.nextInt(vocab - 2);
            }
            Session s = dev.newSession();
            long t0 = System.nanoTime();
            float[] l = dev.prefill(s, prompt);
            long t1 = System.nanoTime();
            int n = 32;
            long e0 = dev.executions();
            var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            long c2 = os.getProcessCpuTime();
            long t2 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                dev.decode(s, dev.lastArgmax(0), l);
            }
            long t3 = System.nanoTime();
            long c3 = os.getProcessCpuTime();
            System.out.printf("BENCH batch %d tile %d %s %s %s KV on %s: first prefill (compiles) %.1f s; decode %.1f ms/token (process CPU %.1f ms/token)"
                    + " over %d tokens; %d kernel launches and %d steps per decoded token%n", batch, tile, preset, type, kv, dev.deviceName(), (t1 - t0) / 1e9,
                (t3 - t2) / 1e6 / n, (c3 - c2) / 1e6 / n, n, dev.launchesPerStep(), (dev.executions() - e0) / n);
            dev.enableProfiler();
            Map<String, long[]> byKind = new TreeMap<>();
            long kernel = 0;
            long bytes = 0;
            int runs = 8;
            for (int i = 0; i < runs; i++) {
                dev.decode(s, dev.lastArgmax(0), l);
                kernel += dev.lastKernelNanos();
                bytes += dev.lastBytesTransferred();
                Matcher m = Pattern.compile("\"(?:head|tail|layer\\d+)\\.([^\"]+)\"\\s*:\\s*\\{[^}]*?\"TASK_KERNEL_TIME\"\\s*:\\s*\"(\\d+)\"")
                    .matcher(dev.lastProfile());
                while (m.find()) {
                    String kind = m.group(1).replaceFirst("^l\\d+\\.", "");
                    long[] acc = byKind.computeIfAbsent(kind, k -> new long[2]);
                    acc[0] += Long.parseLong(m.group(2));
                    acc[1]++;
                }
            }
            System.out.printf("BENCH device kernel time %.2f ms/token, %d bytes copied host<->device per token (profiler on)%n", kernel / 1e6 / runs,
                bytes / runs);
            for (var e : byKind.entrySet()) {
                System.out.printf("BENCH   %-28s %8.3f ms/token (%d launches/token)%n", e.getKey(), e.getValue()[0] / 1e6 / runs, e.getValue()[1] / runs);
            }
            if (byKind.isEmpty()) {
                System.out.println("BENCH profile log: " + dev.lastProfile().substring(0, Math.min(2000, dev.lastProfile().length())));
            }
        }
    }
}
