package dev.gemma4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Dot products (both the Vector API kernel and the scalar fallback) against dequantize-then-multiply in
 * double, on random valid rows of every length that is a multiple of the block size up to 4096, plus the
 * Gemma 4 row lengths 704, 2112 and 2816. Dequantization itself is pinned to llama.cpp by
 * {@link FormatParityTest}.
 *
 * <p>Tolerance: |dot − ref| ≤ 2e-6·Σ|w·x|·√(n/32) (+ 1e-30). A float dot product reorders a sum of n terms;
 * its rounding error grows like √n·ε·Σ|w·x| for random signs (ε = 6e-8); the bound leaves a wide margin
 * for that and still catches any wrong element (one wrong weight changes the sum by about Σ|w·x|/n,
 * far above the bound for n ≤ 4096).
 */
class DotProductTest {

    interface Kernel {
        float dot(MemorySegment src, long offset, float[] x, int xOffset, int n);
    }

    record Kernels(Kernel scalar, Kernel vector) {
    }

    static final Map<GgmlType, Kernels> KERNELS = Map.ofEntries(
            Map.entry(GgmlType.F32, new Kernels(F32Format::dotScalar, F32Format::dotVector)),
            Map.entry(GgmlType.F16, new Kernels(F16Format::dotScalar, F16Format::dotVector)),
            Map.entry(GgmlType.BF16, new Kernels(BF16Format::dotScalar, BF16Format::dotVector)),
            Map.entry(GgmlType.Q8_0, new Kernels(Q8_0Format::dotScalar, Q8_0Format::dotVector)),
            Map.entry(GgmlType.Q4_0, new Kernels(Q4_0Format::dotScalar, Q4_0Format::dotVector)),
            Map.entry(GgmlType.Q4_1, new Kernels(Q4_1Format::dotScalar, Q4_1Format::dotVector)),
            Map.entry(GgmlType.Q5_0, new Kernels(Q5_0Format::dotScalar, Q5_0Format::dotVector)),
            Map.entry(GgmlType.Q5_1, new Kernels(Q5_1Format::dotScalar, Q5_1Format::dotVector)),
            Map.entry(GgmlType.IQ4_NL, new Kernels(IQ4_NLFormat::dotScalar, IQ4_NLFormat::dotVector)),
            Map.entry(GgmlType.MXFP4, new Kernels(MXFP4Format::dotScalar, MXFP4Format::dotVector)),
            Map.entry(GgmlType.Q2_K, new Kernels(Q2_KFormat::dotScalar, Q2_KFormat::dotVector)),
            Map.entry(GgmlType.Q3_K, new Kernels(Q3_KFormat::dotScalar, Q3_KFormat::dotVector)),
            Map.entry(GgmlType.Q4_K, new Kernels(Q4_KFormat::dotScalar, Q4_KFormat::dotVector)),
            Map.entry(GgmlType.Q5_K, new Kernels(Q5_KFormat::dotScalar, Q5_KFormat::dotGeneric)),
            Map.entry(GgmlType.Q6_K, new Kernels(Q6_KFormat::dotScalar, Q6_KFormat::dotVector)),
            Map.entry(GgmlType.IQ4_XS, new Kernels(IQ4_XSFormat::dotScalar, IQ4_XSFormat::dotVector)));

    /** Byte offsets of the f16 scale fields in a block: set to sane values so rows stay finite. */
    static final Map<GgmlType, int[]> HALF_FIELDS = Map.ofEntries(
            Map.entry(GgmlType.Q8_0, new int[] {0}), Map.entry(GgmlType.Q4_0, new int[] {0}),
            Map.entry(GgmlType.Q4_1, new int[] {0, 2}), Map.entry(GgmlType.Q5_0, new int[] {0}),
            Map.entry(GgmlType.Q5_1, new int[] {0, 2}), Map.entry(GgmlType.IQ4_NL, new int[] {0}),
            Map.entry(GgmlType.MXFP4, new int[] {}), Map.entry(GgmlType.Q2_K, new int[] {80, 82}),
            Map.entry(GgmlType.Q3_K, new int[] {108}), Map.entry(GgmlType.Q4_K, new int[] {0, 2}),
            Map.entry(GgmlType.Q5_K, new int[] {0, 2}), Map.entry(GgmlType.Q6_K, new int[] {208}),
            Map.entry(GgmlType.IQ4_XS, new int[] {0}));

    static Stream<Arguments> rows() {
        List<Arguments> out = new ArrayList<>();
        for (GgmlType t : KERNELS.keySet()) {
            int qk = Math.max(32, t.blockElements());
            List<Integer> lengths = new ArrayList<>();
            for (int n = qk; n <= 4096; n += qk) {
                lengths.add(n);
            }
            for (int n : new int[] {704, 2112, 2816}) {
                if (n % qk == 0 && !lengths.contains(n)) {
                    lengths.add(n);
                }
            }
            if (t.blockElements() == 1) {
                lengths.add(1);
                lengths.add(17);
                lengths.add(33);
            }
            out.add(Arguments.of(t, lengths));
        }
        return out.stream();
    }

    /** A random valid row of {@code n} elements: random bytes with sane scales. */
    static byte[] randomRow(GgmlType t, int n, Random rnd) {
        byte[] b = new byte[(int) t.rowBytes(n)];
        if (t == GgmlType.F32 || t == GgmlType.F16 || t == GgmlType.BF16) {
            float[] x = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            MemorySegment s = MemorySegment.ofArray(b);
            TensorFormat.of(t).quantize(x, 0, n, s, 0);
            return b;
        }
        rnd.nextBytes(b);
        MemorySegment s = MemorySegment.ofArray(b);
        int bb = t.blockBytes();
        for (int blk = 0; blk < n / t.blockElements(); blk++) {
            for (int off : HALF_FIELDS.get(t)) {
                s.set(Bits.SHORT_LE, (long) blk * bb + off, Float.floatToFloat16((float) (rnd.nextGaussian() * 0.01)));
            }
            if (t == GgmlType.MXFP4) {
                s.set(ValueLayout.JAVA_BYTE, (long) blk * bb, (byte) (115 + rnd.nextInt(20)));
            }
        }
        return b;
    }

    @ParameterizedTest
    @MethodSource("rows")
    void dotMatchesDequantizedProduct(GgmlType t, List<Integer> lengths) {
        Random rnd = new Random(31 * t.id() + 7);
        TensorFormat f = TensorFormat.of(t);
        Kernels k = KERNELS.get(t);
        for (int n : lengths) {
            byte[] row = randomRow(t, n, rnd);
            int rowOffset = 1 + rnd.nextInt(5);
            int xOffset = rnd.nextInt(3);
            float[] x = new float[n + xOffset];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment s = arena.allocate(row.length + rowOffset);
                MemorySegment.copy(row, 0, s, ValueLayout.JAVA_BYTE, rowOffset, row.length);
                float[] w = new float[n];
                f.dequantize(s, rowOffset, w, 0, n);
                double ref = 0;
                double mag = 0;
                for (int i = 0; i < n; i++) {
                    ref += (double) w[i] * x[xOffset + i];
                    mag += Math.abs((double) w[i] * x[xOffset + i]);
                }
                double tol = 2e-6 * mag * Math.sqrt(n / 32.0) + 1e-30;
                assertEquals(ref, k.scalar().dot(s, rowOffset, x, xOffset, n), tol, t + " scalar dot, n=" + n);
                if (Simd.ENABLED) {
                    assertEquals(ref, k.vector().dot(s, rowOffset, x, xOffset, n), tol, t + " vector dot, n=" + n);
                }
                assertEquals(ref, f.dot(s, rowOffset, x, xOffset, n), tol, t + " dot, n=" + n);
                int ps = f.preparedSize(n);
                if (ps > 0) {
                    int po = rnd.nextInt(3);
                    float[] prepared = new float[ps + po];
                    f.prepare(x, xOffset, n, prepared, po);
                    assertEquals(ref, f.dotPrepared(s, rowOffset, prepared, po, n), tol, t + " prepared dot, n=" + n);
                }
                // the tile order: the same weights and activations, permuted alike (the same pairs meet)
                float[] wt = new float[n + 2];
                f.dequantizeTile(s, rowOffset, wt, 2, n);
                float[] xt = new float[n + 1];
                f.permuteTile(x, xOffset, n, xt, 1);
                float[] wSorted = java.util.Arrays.copyOfRange(wt, 2, n + 2);
                float[] wNatural = w.clone();
                java.util.Arrays.sort(wSorted);
                java.util.Arrays.sort(wNatural);
                assertArrayEquals(wNatural, wSorted, t + " tile-order weights are a permutation of dequantize's, n=" + n);
                double tileDot = 0;
                for (int i = 0; i < n; i++) {
                    tileDot += (double) wt[2 + i] * xt[1 + i];
                }
                assertEquals(ref, tileDot, 1e-9 * mag + 1e-30, t + " tile order pairs each weight with its activation, n=" + n);
                if (!f.tileOrdered()) {
                    assertArrayEquals(w, java.util.Arrays.copyOfRange(wt, 2, n + 2), t + " natural tile order, n=" + n);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "TQ1_0", "TQ2_0", "NVFP4",
        "Q8_K", "Q8_1", "I8", "I32", "F64"})
    void unsupportedTypesNameThemselves(GgmlType t) {
        UnsupportedTensorTypeException e = assertThrows(UnsupportedTensorTypeException.class, () -> TensorFormat.of(t));
        assertSame(t, e.type());
        assertTrue(e.getMessage().contains(t.name()), e.getMessage());
    }

    @Test
    void rowsThatAreNotWholeBlocksAreRejected() {
        TensorFormat f = TensorFormat.of(GgmlType.Q4_K);
        MemorySegment s = MemorySegment.ofArray(new byte[1024]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.dot(s, 0, new float[300], 0, 300));
        assertTrue(e.getMessage().contains("300") && e.getMessage().contains("256"), e.getMessage());
    }
}
