package dev.gemma4j.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.synth.SynthConfig;
import dev.gemma4j.synth.SynthModel;
import dev.gemma4j.synth.SynthType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same greedy run gives bit-identical logits whatever the JIT has done so far, the thread count and the
 * JVM: every reduction has a fixed order (lane sums through fixed shuffles, never {@code reduceLanes(ADD)};
 * each output row summed by one worker). Checked on the synth tiny model in Q4_K_M (Q4_K, Q6_K, Q5_0,
 * Q8_0, F32 weights: the prepared, generic and tile kernels) with {@link DeterminismProbe}: in this JVM
 * cold and warm, at 1 and 2 threads; in fresh JVMs with the default JIT and C1 only; and a short run in a
 * fresh JVM with the interpreter only ({@code -Xint}, where the Vector API runs its Java fallback) against
 * the same run compiled here. (With {@code reduceLanes(ADD)}, as before, a fresh JVM's single run already
 * differed from a warmed-up one.)
 */
class DeterminismTest {
    @TempDir
    static Path dir;

    static Path model() throws Exception {
        Path p = dir.resolve("tiny-q4km.gguf");
        if (!p.toFile().exists()) {
            SynthModel.write(SynthModel.plan(SynthConfig.preset("tiny"), SynthType.parse("Q4_K_M"), 3), p, 2);
        }
        return p;
    }

    @Test
    void coldAndWarmAndThreadCountsGiveTheSameBits() throws Exception {
        try (GgufFile gguf = GgufFile.open(model())) {
            String cold = DeterminismProbe.fingerprint(gguf, 1);
            for (int i = 0; i < 10; i++) {
                DeterminismProbe.fingerprint(gguf, 2);
            }
            assertEquals(cold, DeterminismProbe.fingerprint(gguf, 1), "cold vs warm, 1 thread");
            assertEquals(cold, DeterminismProbe.fingerprint(gguf, 2), "1 vs 2 threads");
        }
    }

    @Test
    void freshJvmsInterpreterC1AndC2GiveTheSameBits() throws Exception {
        Path m = model();
        String c2 = probe(m, 2, 6);
        assertEquals(c2, probe(m, 1, 1), "fresh JVM, 1 thread, one run");
        assertEquals(c2, probe(m, 2, 1, "-XX:TieredStopAtLevel=1"), "C1 only");
    }

    @Test
    void theInterpreterGivesTheBitsOfCompiledCode() throws Exception {
        // short run: the interpreter executes the Vector API's Java fallback, ~100x slower than C2
        String compiled;
        try (GgufFile gguf = GgufFile.open(model())) {
            for (int i = 0; i < 10; i++) {
                DeterminismProbe.fingerprint(gguf, 2, 2, 1);
            }
            compiled = DeterminismProbe.fingerprint(gguf, 2, 2, 1);
        }
        assertEquals(compiled, probeShort(model(), 1, 1, "2", "1", "-Xint"), "interpreter only");
    }

    static String probe(Path model, int threads, int repeats, String... flags) throws IOException, InterruptedException {
        return probeShort(model, threads, repeats, null, null, flags);
    }

    static String probeShort(Path model, int threads, int repeats, String promptLength, String steps, String... flags)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--add-modules");
        cmd.add("jdk.incubator.vector");
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-Xmx1g");
        String bits = System.getProperty(dev.gemma4j.tensor.Vectors.PROPERTY);
        if (bits != null) {
            cmd.add("-D" + dev.gemma4j.tensor.Vectors.PROPERTY + "=" + bits);
        }
        cmd.addAll(List.of(flags));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(DeterminismProbe.class.getName());
        cmd.add(model.toString());
        cmd.add(Integer.toString(threads));
        cmd.add(Integer.toString(repeats));
        if (promptLength != null) {
            cmd.add(promptLength);
            cmd.add(steps);
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "probe timed out");
        assertEquals(0, p.exitValue(), out);
        for (String line : out.split("\n")) {
            if (line.startsWith("FINGERPRINT ")) {
                return line.substring("FINGERPRINT ".length()).trim();
            }
        }
        throw new AssertionError("no fingerprint in: " + out);
    }
}
