package dev.gemma4j.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.KvCacheType;
import dev.gemma4j.engine.Session;
import dev.gemma4j.engine.SessionCheckpoint;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.synth.SynthConfig;
import dev.gemma4j.synth.SynthModel;
import dev.gemma4j.synth.SynthType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Going back in a session (what the server's prompt cache does): after truncating to any position the
 * sliding-window rings allow, or restoring a checkpoint, and evaluating the rest of the tokens, the logits
 * and the greedy continuation are bit-identical to a fresh session that evaluated all the tokens at once.
 * The model is the tiny synthetic one with a window of 16 and chunks of 8, so its rings (16 + 8 − 1 = 23
 * positions) wrap many times over the 70-token sequence.
 */
class SessionTruncationTest {
    static final int WINDOW = 16;
    static final int CHUNK = 8;
    static final int RING = WINDOW + CHUNK - 1;
    static final int N = 70;
    static final int DECODE = 3;

    @TempDir
    static Path dir;
    static Path model;
    static int[] tokens;
    static int[] junk;

    @BeforeAll
    static void writeModel() throws Exception {
        SynthConfig.Builder b = SynthConfig.preset("tiny").toBuilder();
        b.slidingWindow = WINDOW;
        model = dir.resolve("tiny-q8.gguf");
        SynthModel.write(SynthModel.plan(b.build(), SynthType.parse("Q8_0"), 5), model, 2);
        Random r = new Random(11);
        tokens = new int[N];
        junk = new int[3 * RING];
        tokens[0] = 2;
        for (int i = 1; i < N; i++) {
            tokens[i] = 3 + r.nextInt(2000);
        }
        for (int i = 0; i < junk.length; i++) {
            junk[i] = 3 + r.nextInt(2000);
        }
    }

    static CpuEngine engine(GgufFile g, KvCacheType kv) {
        return new CpuEngine(g, new EngineOptions(256, kv, 2, CHUNK, true));
    }

    /** The logits after {@code tokens[from..N)} and after each of DECODE greedy steps. */
    static List<float[]> finish(CpuEngine e, Session s, int from) {
        List<float[]> out = new ArrayList<>();
        float[] l = e.prefill(s, Arrays.copyOfRange(tokens, from, N));
        out.add(l.clone());
        for (int i = 0; i < DECODE; i++) {
            e.decode(s, BatchInvarianceTest.argmax(l), l);
            out.add(l.clone());
        }
        return out;
    }

    static List<float[]> reference(CpuEngine e) {
        try (Session s = e.newSession()) {
            return finish(e, s, 0);
        }
    }

    static void assertSame(List<float[]> want, List<float[]> got, String what) {
        for (int i = 0; i < want.size(); i++) {
            assertArrayEquals(want.get(i), got.get(i), what + ", step " + i);
        }
    }

    @ParameterizedTest
    @EnumSource(KvCacheType.class)
    void truncationGivesTheStateOfAFreshSession(KvCacheType kv) throws Exception {
        try (GgufFile g = GgufFile.open(model); CpuEngine e = engine(g, kv)) {
            List<float[]> want = reference(e);
            // evaluated length E: within the ring (every position can be recovered) and beyond it
            for (int evaluated : new int[] {RING - 3, N}) {
                int floor = evaluated <= RING ? 0 : evaluated - RING + WINDOW - 1;
                int accepted = 0;
                for (int p = 0; p <= evaluated; p++) {
                    try (Session s = e.newSession()) {
                        e.prefill(s, Arrays.copyOf(tokens, evaluated));
                        assertEquals(Math.min(floor, evaluated), s.truncationFloor(), "floor after " + evaluated);
                        if (p != 0 && p < floor) {
                            int q = p;
                            assertThrows(IllegalArgumentException.class, () -> s.truncate(q));
                            assertEquals(evaluated, s.position(), "a refused truncation changes nothing");
                            continue;
                        }
                        s.truncate(p);
                        assertEquals(p, s.position());
                        if (p < N) {
                            assertSame(want, finish(e, s, p), kv + ": evaluated " + evaluated + ", truncated to " + p);
                        }
                        accepted++;
                    }
                }
                assertEquals(floor == 0 ? evaluated + 1 : evaluated - floor + 2, accepted, "0 and every position from the floor");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(KvCacheType.class)
    void aRestoredCheckpointGivesTheStateOfAFreshSession(KvCacheType kv) throws Exception {
        try (GgufFile g = GgufFile.open(model); CpuEngine e = engine(g, kv)) {
            List<float[]> want = reference(e);
            for (int c : new int[] {1, 5, WINDOW - 1, WINDOW, WINDOW + 1, 30, 41, 55, N - 1}) {
                for (boolean backOne : new boolean[] {false, true}) {
                    try (Session s = e.newSession()) {
                        e.prefill(s, Arrays.copyOf(tokens, c));
                        SessionCheckpoint cp = s.checkpoint().orElseThrow();
                        assertEquals(c, cp.position());
                        assertEquals(c > WINDOW ? c - 1 : 0, cp.earliestPosition(), "a checkpoint holds W positions");
                        // another continuation moves the rings far beyond the checkpoint
                        e.prefill(s, junk);
                        assertTrue(s.truncationFloor() > c, "the rings no longer hold the checkpoint's window");
                        assertTrue(cp.valid());
                        s.restore(cp);
                        assertEquals(c, s.position());
                        int from = c;
                        if (backOne) {
                            from = cp.earliestPosition() == 0 ? 0 : c - 1;
                            s.truncate(from);
                        }
                        assertSame(want, finish(e, s, from), kv + ": checkpoint at " + c + ", resumed at " + from);
                        cp.close();
                        assertFalse(cp.valid());
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(KvCacheType.class)
    void goingBackBeforeACheckpointInvalidatesIt(KvCacheType kv) throws Exception {
        try (GgufFile g = GgufFile.open(model); CpuEngine e = engine(g, kv); Session s = e.newSession();
             Session other = e.newSession()) {
            e.prefill(s, Arrays.copyOf(tokens, 20));
            SessionCheckpoint early = s.checkpoint().orElseThrow();
            e.prefill(s, Arrays.copyOfRange(tokens, 20, 30));
            SessionCheckpoint late = s.checkpoint().orElseThrow();
            assertThrows(IllegalArgumentException.class, () -> other.restore(late), "another session's checkpoint");
            s.truncate(25);
            assertFalse(late.valid(), "positions 25.. will be rewritten");
            assertThrows(IllegalArgumentException.class, () -> s.restore(late));
            assertTrue(early.valid(), "positions before 20 are untouched");
            s.restore(early);
            assertEquals(20, s.position());
            assertSame(reference(e), finish(e, s, 20), "restored after the later checkpoint was invalidated");
            s.reset();
            assertFalse(early.valid());
            early.close();
            late.close();
        }
    }
}
