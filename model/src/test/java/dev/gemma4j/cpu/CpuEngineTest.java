package dev.gemma4j.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemma4j.engine.ContextOverflowException;
import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.KvCacheType;
import dev.gemma4j.engine.Session;
import dev.gemma4j.gguf.GgufFile;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Internal consistency of the CPU engine on a tiny model (window 8): whatever the chunking, batching,
 * threading or ring-buffer wrap-around, a position sees the same keys and gets the same logits.
 * (Agreement with llama.cpp itself is {@link CpuEngineParityTest}.)
 */
class CpuEngineTest {
    @TempDir
    static Path dir;
    static GgufFile gguf;
    static int[] prompt;

    @BeforeAll
    static void model() throws Exception {
        Path f = dir.resolve("tiny.gguf");
        TinyGemma4.standard().withSeed(5).write(f);
        gguf = GgufFile.open(f);
        Random rnd = new Random(1);
        prompt = new int[45];
        prompt[0] = 2;
        for (int i = 1; i < prompt.length; i++) {
            prompt[i] = 9 + rnd.nextInt(300);
        }
    }

    @AfterAll
    static void close() {
        gguf.close();
    }

    static EngineOptions opts(int chunk, int threads) {
        return new EngineOptions(64, KvCacheType.F32, threads, chunk);
    }

    static float[] prefill(EngineOptions o, int[] tokens) {
        try (CpuEngine e = new CpuEngine(gguf, o); Session s = e.newSession()) {
            return e.prefill(s, tokens);
        }
    }

    static void assertClose(float[] expected, float[] actual, double tol, String what) {
        double max = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(max <= tol, what + ": max |Δ logit| = " + max);
    }

    @Test
    void chunkSizesAgreeIncludingChunksStraddlingTheWindowAndTheRing() {
        // chunk 45 holds the whole prompt: the sliding layers keep every position (no wrap-around);
        // chunk 1 is token by token (experts run per token); 3, 7, 16 wrap the ring of window + chunk - 1 slots.
        float[] whole = prefill(opts(45, 1), prompt);
        for (int chunk : new int[] {1, 3, 7, 16}) {
            assertClose(whole, prefill(opts(chunk, 1), prompt), 2e-4, "chunk " + chunk);
        }
    }

    @Test
    void decodingTokenByTokenMatchesPrefill() {
        float[] whole = prefill(opts(16, 1), prompt);
        try (CpuEngine e = new CpuEngine(gguf, opts(16, 1)); Session s = e.newSession()) {
            float[] logits = e.prefill(s, new int[] {prompt[0]});
            for (int i = 1; i < prompt.length; i++) {
                e.decode(s, prompt[i], logits);
            }
            assertEquals(prompt.length, s.position());
            assertClose(whole, logits, 2e-4, "token by token");
        }
    }

    @Test
    void threadCountDoesNotChangeResults() {
        // Work is split by rows, so each sum is the same, and lane sums have a fixed order (not reduceLanes,
        // whose order differs between interpreted and compiled code): the first, cold run equals a later one.
        org.junit.jupiter.api.Assertions.assertArrayEquals(prefill(opts(16, 1), prompt), prefill(opts(16, 2), prompt),
                "1 vs 2 threads");
    }

    @Test
    void weightsCopiedIntoMemoryGiveTheSameLogitsAndNoLongerNeedTheFile() throws Exception {
        float[] mapped = prefill(opts(16, 1), prompt);
        // a second open of the file, closed (unmapped) before the engine runs: only a real copy can still be read
        GgufFile own = GgufFile.open(gguf.path());
        CpuEngine e = new CpuEngine(own, opts(16, 1).withMmap(false));
        own.close();
        try (Session s = e.newSession()) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(mapped, e.prefill(s, prompt), "copied weights vs mapped");
        }
        e.close();
        // the copy is freed with the engine; using it afterwards is a clear error, not a read of freed memory
        assertThrows(IllegalStateException.class, e::newSession);
        e.close();
    }

    @Test
    void aCopyLargerThanTheMachinesMemoryIsRefusedBeforeAnythingIsAllocated() throws Exception {
        // the tiny model followed by a sparse tail that makes the file larger than this machine's memory (no disk used)
        Path big = dir.resolve("bigger-than-memory.gguf");
        java.nio.file.Files.copy(gguf.path(), big);
        long total = ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
            .getTotalMemorySize();
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(total + (1L << 30));
        }
        try (GgufFile g = GgufFile.open(big)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new CpuEngine(g, opts(16, 1).withMmap(false)));
            assertTrue(e.getMessage().contains("more than this machine's"), e.getMessage());
            new CpuEngine(g, opts(16, 1)).close(); // mapped, the same file opens
        }
    }

    @Test
    void severalSessionsDecodeTogetherAsTheyWouldAlone() {
        int[][] prompts = {java.util.Arrays.copyOf(prompt, 12), java.util.Arrays.copyOfRange(prompt, 10, 30), {2, 40}};
        int[] next = {17, 250, 99};
        float[][] alone = new float[3][];
        try (CpuEngine e = new CpuEngine(gguf, opts(16, 2))) {
            for (int i = 0; i < 3; i++) {
                try (Session s = e.newSession()) {
                    float[] l = e.prefill(s, prompts[i]);
                    e.decode(s, next[i], l);
                    alone[i] = l;
                }
            }
            Session[] ss = {e.newSession(), e.newSession(), e.newSession()};
            for (int i = 0; i < 3; i++) {
                e.prefill(ss[i], prompts[i]);
            }
            float[][] together = new float[3][e.config().vocabSize()];
            e.decode(List.of(ss), next, together);
            for (int i = 0; i < 3; i++) {
                // alone, a weight row is dotted through its format's fused dot; together, it is decoded once and
                // dotted with three rows: the same products summed in another order
                assertClose(alone[i], together[i], 1e-3, "session " + i);
                assertEquals(prompts[i].length + 1, ss[i].position());
            }
        }
    }

    @Test
    void oneMixedStepEqualsPrefillAndDecodeApart() {
        // A continuous-batching step: session 0 decodes one token while session 1 prefills a 20-token piece
        // that straddles the window; both share the step's batches (chunk 8 splits session 1 over three).
        int[] first = java.util.Arrays.copyOf(prompt, 10);
        int[] piece = java.util.Arrays.copyOfRange(prompt, 10, 30);
        float[] decodedAlone;
        float[] prefilledAlone;
        try (CpuEngine e = new CpuEngine(gguf, opts(8, 2))) {
            try (Session s = e.newSession()) {
                float[] l = e.prefill(s, first);
                e.decode(s, 77, l);
                decodedAlone = l;
            }
            try (Session s = e.newSession()) {
                prefilledAlone = e.prefill(s, piece);
            }
            Session a = e.newSession();
            Session b = e.newSession();
            e.prefill(a, first);
            float[][] logits = {new float[e.config().vocabSize()], new float[e.config().vocabSize()]};
            e.step(List.of(a, b), new int[][] {{77}, piece}, logits);
            assertEquals(first.length + 1, a.position());
            assertEquals(piece.length, b.position());
            assertClose(decodedAlone, logits[0], 1e-3, "decoding row in a mixed step");
            assertClose(prefilledAlone, logits[1], 1e-3, "prompt piece in a mixed step");
            // logits not asked for are not written; the session still advances
            float[][] none = {null};
            e.step(List.of(b), new int[][] {{5, 6}}, none);
            assertEquals(piece.length + 2, b.position());
            assertThrows(IllegalArgumentException.class, () -> e.step(List.of(a, a), new int[][] {{1}, {2}}, new float[2][]));
            int before = b.position();
            assertThrows(ContextOverflowException.class, () -> e.step(List.of(a, b), new int[][] {{1}, new int[60]}, new float[2][]));
            assertEquals(before, b.position(), "nothing is evaluated when a session does not fit");
        }
    }

    @Test
    void f16CacheStaysCloseToF32() {
        float[] f32 = prefill(opts(16, 1), prompt);
        float[] f16 = prefill(opts(16, 1).withKvCacheType(KvCacheType.F16), prompt);
        assertClose(f32, f16, 5e-2, "f16 cache");
    }

    @Test
    void runningPastTheContextIsAClearErrorAndEvaluatesNothing() {
        try (CpuEngine e = new CpuEngine(gguf, opts(16, 1)); Session s = e.newSession()) {
            e.prefill(s, java.util.Arrays.copyOf(prompt, 40));
            ContextOverflowException ex = assertThrows(ContextOverflowException.class, () -> e.prefill(s, new int[30]));
            assertTrue(ex.getMessage().contains("context length of 64"), ex.getMessage());
            assertEquals(40, s.position());
            float[] l = new float[e.config().vocabSize()];
            for (int i = 40; i < 64; i++) {
                e.decode(s, 20, l);
            }
            assertThrows(ContextOverflowException.class, () -> e.decode(s, 20, l));
            assertEquals(64, s.position());
        }
    }

    @Test
    void resetStartsOverAndBadTokensAreRejected() {
        try (CpuEngine e = new CpuEngine(gguf, opts(16, 1)); Session s = e.newSession()) {
            float[] first = e.prefill(s, prompt);
            s.reset();
            assertEquals(0, s.position());
            // equal up to the lane order of vector reductions, which may change once the code is compiled
            assertClose(first, e.prefill(s, prompt), 1e-4, "after reset");
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> e.prefill(s, new int[] {2, 384}));
            assertTrue(ex.getMessage().contains("outside the vocabulary"), ex.getMessage());
            assertThrows(IllegalArgumentException.class, () -> e.prefill(s, new int[0]));
        }
    }
}
