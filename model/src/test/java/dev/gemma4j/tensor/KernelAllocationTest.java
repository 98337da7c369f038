package dev.gemma4j.tensor;

import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Guard rail for the JIT: once compiled, a format's hot kernels ({@code dot}, {@code dotPrepared},
 * {@code dequantize}, {@code dequantizeTile}) allocate nothing. A Vector API kernel that C2 could not inline completely (its node
 * budget, a polluted call-site profile: see {@link Simd}) keeps some vectors as heap objects, which shows as
 * allocation per call and a 3-7x slowdown; this catches it here rather than in a benchmark. Each kernel is
 * called in batches until a batch allocates nothing (the interpreter and C1 allocate, so warm-up takes a
 * while on a busy machine) or 60 s pass.
 */
class KernelAllocationTest {
    static final int N = 2816;
    static final int ROWS = 16;
    static final long LIMIT_NANOS = 60_000_000_000L;

    interface Call {
        float run(int row);
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "MXFP4", "Q2_K", "Q3_K", "Q4_K",
        "Q5_K", "Q6_K", "IQ4_XS"})
    void compiledKernelsDoNotAllocate(GgmlType t) {
        TensorFormat f = TensorFormat.of(t);
        int n = t.blockElements() == 1 ? N : N / Math.max(256, t.blockElements()) * Math.max(256, t.blockElements());
        Random rnd = new Random(7);
        long rowBytes = t.rowBytes(n);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        float[] out = new float[n];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(rowBytes * ROWS);
            for (int r = 0; r < ROWS; r++) {
                byte[] row = DotProductTest.randomRow(t, n, rnd);
                MemorySegment.copy(row, 0, s, ValueLayout.JAVA_BYTE, r * rowBytes, row.length);
            }
            check(t + " dot", r -> f.dot(s, r * rowBytes, x, 0, n));
            check(t + " dequantize", r -> {
                f.dequantize(s, r * rowBytes, out, 0, n);
                return out[r];
            });
            if (f.tileOrdered()) {
                check(t + " dequantizeTile", r -> {
                    f.dequantizeTile(s, r * rowBytes, out, 0, n);
                    return out[r];
                });
            }
            float[] xRows = new float[TensorFormat.TILE_DOT_ROWS * n];
            float[] scratch = new float[TensorFormat.TILE_DOT_SCRATCH];
            for (int i = 0; i < xRows.length; i++) {
                xRows[i] = x[i % n];
            }
            if (f.dotTile(s, 0, xRows, 0, 1, out, 0, 1, n, scratch)) {
                check(t + " dotTile, one row", r -> {
                    f.dotTile(s, r * rowBytes, xRows, 0, 1, out, 0, 1, n, scratch);
                    return out[0];
                });
                check(t + " dotTile, two rows", r -> {
                    f.dotTile(s, r * rowBytes, xRows, 0, 2, out, 0, 1, n, scratch);
                    return out[1];
                });
            }
            int ps = f.preparedSize(n);
            if (ps > 0) {
                float[] px = new float[ps];
                f.prepare(x, 0, n, px, 0);
                check(t + " dotPrepared", r -> f.dotPrepared(s, r * rowBytes, px, 0, n));
            }
        }
    }

    static void check(String what, Call call) {
        com.sun.management.ThreadMXBean tm = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        long start = System.nanoTime();
        float sink = 0;
        long last = -1;
        while (System.nanoTime() - start < LIMIT_NANOS) {
            long a0 = tm.getThreadAllocatedBytes(tid);
            for (int i = 0; i < 2000; i++) {
                sink += call.run(i % ROWS);
            }
            last = tm.getThreadAllocatedBytes(tid) - a0;
            if (last == 0) {
                return;
            }
        }
        fail(what + " still allocates " + last + " bytes per 2000 calls after 60 s (boxed vectors: an inlining failure?)"
                + (Float.isNaN(sink) ? "" : ""));
    }
}
