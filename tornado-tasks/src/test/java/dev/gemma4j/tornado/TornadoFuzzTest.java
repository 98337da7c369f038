package dev.gemma4j.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.gemma4j.engine.Session;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.gguf.TensorInfo;
import dev.gemma4j.model.ModelFormatException;
import dev.gemma4j.model.NonFiniteValueException;
import dev.gemma4j.synth.SynthType;
import dev.gemma4j.tensor.GgmlType;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random bytes in the tensor data of a sound model (a corrupt download, a broken quantizer) never crash the
 * device engine: each run either generates finite logits or fails with a {@link NonFiniteValueException}
 * naming a tensor of the file, as on the CPU engine (model's TensorDataFuzzTest). Fewer trials than there:
 * every trial uploads the model anew.
 */
class TornadoFuzzTest {
    @TempDir
    Path dir;

    @Test
    void corruptTensorDataGivesResultsOrAClearError() throws Exception {
        Path file = TornadoEngineTest.model(dir, SynthType.Q4_K_M, false, "SSF");
        List<TensorInfo> tensors;
        long dataStart;
        try (GgufFile g = GgufFile.open(file)) {
            tensors = new ArrayList<>(g.tensors());
            dataStart = g.fileOffset(tensors.get(0)) - tensors.get(0).offset();
        }
        Set<String> names = new TreeSet<>();
        tensors.forEach(t -> names.add(t.name()));

        // a NaN block scale in a Q4_K tensor is refused before upload, by name
        TensorInfo q4k = tensors.stream().filter(t -> t.type() == GgmlType.Q4_K).findFirst().orElseThrow();
        byte[][] nanScale = {{0x00, 0x7E}};
        NonFiniteValueException nan = corrupted(file, new long[] {dataStart + q4k.offset()}, nanScale, () -> {
            try {
                run(file);
                return null;
            } catch (NonFiniteValueException e) {
                return e;
            }
        });
        assertTrue(nan != null, "a NaN scale in " + q4k.name() + " must be refused");
        assertEquals(q4k.name(), nan.tensor());

        Random rnd = new Random(42);
        int generated = 0;
        int refused = 0;
        for (int trial = 0; trial < 5; trial++) {
            int spans = 1 + rnd.nextInt(8);
            long[] at = new long[spans];
            byte[][] junk = new byte[spans][];
            for (int s = 0; s < spans; s++) {
                TensorInfo t = tensors.get(rnd.nextInt(tensors.size()));
                int len = (int) Math.min(t.byteSize(), 1 + rnd.nextInt(64));
                at[s] = dataStart + t.offset() + (long) (rnd.nextDouble() * (t.byteSize() - len));
                junk[s] = new byte[len];
                rnd.nextBytes(junk[s]);
            }
            int t = trial;
            String outcome = corrupted(file, at, junk, () -> {
                try {
                    run(file);
                    return "generated";
                } catch (NonFiniteValueException | ModelFormatException e) {
                    String named = e instanceof NonFiniteValueException n ? n.tensor().split(" ")[0] : e.getMessage();
                    assertTrue(e instanceof ModelFormatException || names.contains(named), "names a tensor of the file: " + e.getMessage());
                    return "refused";
                } catch (RuntimeException e) {
                    fail("trial " + t + ": the device engine crashed on corrupt tensor data instead of a clear error", e);
                    return null;
                }
            });
            if (outcome.equals("generated")) {
                generated++;
            } else {
                refused++;
            }
        }
        System.out.printf("device fuzz: %d generated, %d refused%n", generated, refused);
        assertTrue(generated + refused == 5);
    }

    /** A 10-token prompt and 4 greedy steps; every logit copied back is checked by the engine. */
    private static void run(Path file) throws Exception {
        try (GgufFile g = GgufFile.open(file);
             TornadoEngine e = new TornadoEngine(g, TornadoEngineTest.options(), TornadoEngineTest.tuning(), null);
             Session s = e.newSession()) {
            float[] logits = e.prefill(s, new int[] {2, 105, 236, 107, 925, 106, 107, 105, 436, 107});
            for (int i = 0; i < 4; i++) {
                e.decode(s, TornadoEngineTest.argmax(logits), logits);
            }
        }
    }

    /** Runs {@code body} with {@code bytes} written at {@code at}, then puts the original bytes back. */
    private static <T> T corrupted(Path file, long[] at, byte[][] bytes, java.util.concurrent.Callable<T> body) throws Exception {
        byte[][] saved = new byte[at.length][];
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            for (int s = 0; s < at.length; s++) {
                saved[s] = new byte[bytes[s].length];
                raf.seek(at[s]);
                raf.readFully(saved[s]);
                raf.seek(at[s]);
                raf.write(bytes[s]);
            }
        }
        try {
            return body.call();
        } finally {
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                for (int s = at.length - 1; s >= 0; s--) {
                    raf.seek(at[s]);
                    raf.write(saved[s]);
                }
            }
        }
    }
}
