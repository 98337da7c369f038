package dev.gemma4j.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gemma4j.model.Matrix;
import dev.gemma4j.tensor.GgmlType;
import dev.gemma4j.tensor.TensorFormat;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link MatMul} reading a region as two streams ({@link MatMul#TWO_STREAM_BYTES}): with every region paired
 * (threshold 0) each output is bit-identical to the one-stream product, on every one-row path (prepared
 * activations, plain dot, the batch-invariant fused tile kernel, the tile for formats without one), for odd and
 * even block counts (the last block unpaired), for regions of one matrix and of several of different formats and
 * shapes, with one to three workers; and the values are right (a double product of the dequantized weights).
 */
class TwoStreamTest {
    static final int COLS = 512;

    @ParameterizedTest
    @EnumSource(names = {"F32", "Q8_0", "Q5_0", "Q4_K", "Q6_K", "MXFP4"})
    void oneMatrixReadAsTwoStreamsGivesTheSameValues(GgmlType t) {
        Random rnd = new Random(23 + t.ordinal());
        for (int rows : new int[] {4 * 48 + 37, 5 * 48, 3, 1}) {
            try (Arena arena = Arena.ofShared()) {
                Matrix m = randomMatrix(arena, t, rows, rnd);
                float[] xs = randomRow(rnd);
                for (boolean invariant : new boolean[] {false, true}) {
                    float[][] one = run(new Matrix[] {m}, xs, invariant, 1, Long.MAX_VALUE);
                    TileInvarianceTest.checkValues(m, xs, one, COLS, rows);
                    for (int threads = 1; threads <= 3; threads++) {
                        assertArrayEquals(one[0], run(new Matrix[] {m}, xs, invariant, threads, 0)[0],
                                t + ", " + rows + " rows, invariant " + invariant + ", " + threads + " workers");
                    }
                }
            }
        }
    }

    @Test
    void severalMatricesPairedAcrossEachOther() {
        Random rnd = new Random(5);
        GgmlType[] types = {GgmlType.Q4_K, GgmlType.Q8_0, GgmlType.F32, GgmlType.Q6_K, GgmlType.Q5_0};
        int[] rows = {150, 97, 61, 200, 48};
        try (Arena arena = Arena.ofShared()) {
            Matrix[] ms = new Matrix[types.length];
            for (int i = 0; i < ms.length; i++) {
                ms[i] = randomMatrix(arena, types[i], rows[i], rnd);
            }
            float[] xs = randomRow(rnd);
            for (boolean invariant : new boolean[] {false, true}) {
                float[][] one = run(ms, xs, invariant, 1, Long.MAX_VALUE);
                for (int i = 0; i < ms.length; i++) {
                    TileInvarianceTest.checkValues(ms[i], xs, new float[][] {one[i]}, COLS, rows[i]);
                }
                for (int threads = 1; threads <= 3; threads++) {
                    float[][] two = run(ms, xs, invariant, threads, 0);
                    for (int i = 0; i < ms.length; i++) {
                        assertArrayEquals(one[i], two[i], types[i] + " among five, invariant " + invariant + ", " + threads + " workers");
                    }
                }
            }
        }
    }

    private static float[][] run(Matrix[] ms, float[] xs, boolean invariant, int threads, long twoStreamBytes) {
        float[][] ys = new float[ms.length][];
        try (WorkerPool pool = new WorkerPool(threads)) {
            MatMul mm = new MatMul(pool, COLS, ms.length, invariant, twoStreamBytes);
            for (int i = 0; i < ms.length; i++) {
                ys[i] = new float[ms[i].rows()];
                mm.add(ms[i], xs, 0, 1, ys[i], 0, ms[i].rows());
            }
            mm.run();
            // the threshold decides: 0 pairs every region of more than one block, the largest never pairs
            boolean severalBlocks = ms.length > 1 || ms[0].rows() > MatMul.TILE_ROWS; // blocks are at least TILE_ROWS rows
            assertEquals(twoStreamBytes == 0 && severalBlocks, mm.lastRunPaired(), "region read as two streams");
        }
        return ys;
    }

    private static Matrix randomMatrix(Arena arena, GgmlType t, int rows, Random rnd) {
        TensorFormat f = TensorFormat.of(t);
        long rowBytes = f.rowBytes(COLS);
        var data = arena.allocate(rowBytes * rows, 64);
        float[] wRow = new float[COLS];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < COLS; i++) {
                wRow[i] = (float) rnd.nextGaussian() * 0.1f;
            }
            f.quantize(wRow, 0, COLS, data, r * rowBytes);
        }
        return new Matrix("w", f, data, COLS, rows, rowBytes);
    }

    private static float[] randomRow(Random rnd) {
        float[] xs = new float[COLS];
        for (int i = 0; i < COLS; i++) {
            xs[i] = (float) rnd.nextGaussian();
        }
        return xs;
    }
}
