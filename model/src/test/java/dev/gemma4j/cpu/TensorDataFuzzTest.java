package dev.gemma4j.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.gemma4j.engine.Engine;
import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.Engines;
import dev.gemma4j.engine.KvCacheType;
import dev.gemma4j.engine.Profile;
import dev.gemma4j.engine.Session;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.gguf.GgufLayout;
import dev.gemma4j.gguf.TensorInfo;
import dev.gemma4j.model.ModelFormatException;
import dev.gemma4j.model.NonFiniteValueException;
import dev.gemma4j.synth.SynthConfig;
import dev.gemma4j.synth.SynthModel;
import dev.gemma4j.synth.SynthType;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random bytes written into the tensor data of a sound model (what a corrupt download or a broken
 * quantizer gives) must never crash the engine: each run either generates or fails with a clear
 * bad-input error naming the tensor. Before, a NaN router score picked expert -1 ("Index -1 out of bounds").
 */
class TensorDataFuzzTest {
    @TempDir
    Path dir;

    @Test
    void corruptTensorDataGivesResultsOrAClearError() throws Exception {
        Path file = dir.resolve("tiny-q4km.gguf");
        SynthModel.write(SynthModel.plan(SynthConfig.preset("tiny"), SynthType.Q4_K_M, 7), file, 1);
        long dataStart = GgufLayout.dataStart(file);
        List<TensorInfo> tensors;
        try (GgufFile g = GgufFile.open(file)) {
            tensors = new ArrayList<>(g.tensors());
        }
        Random rnd = new Random(42);
        int generated = 0;
        int refused = 0;
        java.util.Set<String> named = new java.util.TreeSet<>();
        int[] prompt = {2, 105, 236, 107, 925, 106, 107, 105, 436, 107};
        for (int trial = 0; trial < 150; trial++) {
            // corrupt 1-8 spans of up to 64 bytes in randomly chosen tensors, then restore them
            int spans = 1 + rnd.nextInt(8);
            long[] at = new long[spans];
            byte[][] saved = new byte[spans][];
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                for (int s = 0; s < spans; s++) {
                    TensorInfo t = tensors.get(rnd.nextInt(tensors.size()));
                    int len = (int) Math.min(t.byteSize(), 1 + rnd.nextInt(64));
                    at[s] = dataStart + t.offset() + (long) (rnd.nextDouble() * (t.byteSize() - len));
                    saved[s] = new byte[len];
                    raf.seek(at[s]);
                    raf.readFully(saved[s]);
                    byte[] junk = new byte[len];
                    rnd.nextBytes(junk);
                    raf.seek(at[s]);
                    raf.write(junk);
                }
            }
            try (GgufFile g = GgufFile.open(file);
                 Engine e = Engines.open(g, new EngineOptions(64, KvCacheType.F32, 1, 16), Profile.cpu());
                 Session s = e.newSession()) {
                float[] logits = e.prefill(s, prompt);
                for (int i = 0; i < 4; i++) {
                    e.decode(s, argmax(logits), logits);
                }
                generated++;
            } catch (NonFiniteValueException | ModelFormatException ex) {
                refused++;
                assertTrue(ex.getMessage().contains("tensor "), ex.getMessage());
                named.add(ex.getMessage().replaceAll(".*tensor (\\S+).*", "$1"));
            } catch (RuntimeException ex) {
                fail("trial " + trial + ": the engine crashed on corrupt tensor data instead of a clear error", ex);
            } finally {
                try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                    for (int s = spans - 1; s >= 0; s--) {
                        raf.seek(at[s]);
                        raf.write(saved[s]);
                    }
                }
            }
        }
        // random bytes in f16 block scales often decode to infinity or NaN: both outcomes must occur
        assertTrue(refused > 0 && generated > 0, "generated " + generated + ", refused " + refused + " " + named);
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
