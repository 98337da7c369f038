package dev.gemma4j.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemma4j.model.Matrix;
import dev.gemma4j.tensor.GgmlType;
import dev.gemma4j.tensor.TensorFormat;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The batched (tile) path of {@link MatMul} with {@code batchInvariant}: every output row is bit-identical
 * whatever the number of activation rows in the batch (1..7: the 3x3 blocks, and the eight-, four- and one-row
 * blocks of the last one or two rows) and whatever its place in it (first, middle, last of a block), for weight
 * row counts that leave partial tile blocks and partial groups of three and eight, with one and two workers.
 * Values are also checked against a double product of the dequantized weights, so an invariant but wrong kernel
 * fails too.
 */
class TileInvarianceTest {
    static final int COLS_QUANT = 512;
    static final int COLS_F32 = 2 * 256 + 13; // a scalar tail after the vector loop

    @ParameterizedTest
    @EnumSource(names = {"F32", "Q8_0", "Q5_0", "Q4_K", "Q6_K"})
    void everyRowIsComputedTheSameWayWhateverTheBatch(GgmlType t) {
        TensorFormat f = TensorFormat.of(t);
        int cols = t == GgmlType.F32 ? COLS_F32 : COLS_QUANT;
        // eight full tile blocks of 24 rows with one worker, then 17 rows: blocks whose rows are not a multiple of
        // three or eight (two workers split the rows into smaller blocks, which leave such ends too)
        int rows = 8 * MatMul.TILE_BLOCK + 17;
        Random rnd = new Random(11 + t.ordinal());
        long rowBytes = f.rowBytes(cols);
        try (Arena arena = Arena.ofShared(); WorkerPool one = new WorkerPool(1); WorkerPool two = new WorkerPool(2)) {
            MemorySegment data = arena.allocate(rowBytes * rows, 64);
            float[] wRow = new float[cols];
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < cols; i++) {
                    wRow[i] = (float) rnd.nextGaussian() * 0.1f;
                }
                f.quantize(wRow, 0, cols, data, r * rowBytes);
            }
            Matrix m = new Matrix("w", f, data, cols, rows, rowBytes);
            int maxN = 7;
            float[] xs = new float[maxN * cols];
            for (int i = 0; i < xs.length; i++) {
                xs[i] = (float) rnd.nextGaussian();
            }
            // each activation row alone
            float[][] alone = new float[maxN][rows];
            MatMul mm1 = new MatMul(one, cols, 4, true);
            for (int b = 0; b < maxN; b++) {
                mm1.add(m, xs, b * cols, 1, alone[b], 0, rows).run();
            }
            checkValues(m, xs, alone, cols, rows);
            for (WorkerPool pool : new WorkerPool[] {one, two}) {
                MatMul mm = new MatMul(pool, cols, 4, true);
                for (int n = 1; n <= maxN; n++) {
                    // the batch starts at every activation row that leaves it n rows, so each row is seen at
                    // every position of the 3x3 blocks and of the single-row blocks of the last one or two rows
                    for (int start = 0; start + n <= maxN; start++) {
                        float[] y = new float[n * rows];
                        mm.add(m, xs, start * cols, n, y, 0, rows).run();
                        for (int b = 0; b < n; b++) {
                            assertArrayEquals(alone[start + b], Arrays.copyOfRange(y, b * rows, (b + 1) * rows),
                                t + ": row " + (start + b) + " at position " + b + " of " + n + ", " + pool.threads() + " workers");
                        }
                    }
                }
            }
        }
    }

    /** Each product against a double sum over the dequantized weights (and the rounding llama.cpp applies). */
    static void checkValues(Matrix m, float[] xs, float[][] alone, int cols, int rows) {
        float[] w = new float[cols];
        float[] xr = new float[cols];
        ActivationRounding ar = ActivationRounding.forWeights(m.format().type());
        for (int b = 0; b < alone.length; b++) {
            if (ar == ActivationRounding.NONE) {
                System.arraycopy(xs, b * cols, xr, 0, cols);
            } else {
                ar.apply(xs, b * cols, xr, 0, cols);
            }
            for (int r = 0; r < rows; r++) {
                m.dequantizeRow(r, w, 0);
                double ref = 0;
                double mag = 0;
                for (int i = 0; i < cols; i++) {
                    ref += (double) w[i] * xr[i];
                    mag += Math.abs((double) w[i] * xr[i]);
                }
                assertTrue(mag > 0);
                assertEquals(ref, alone[b][r], 1e-5 * mag, m.format().type() + ": row " + r + " with activation row " + b);
            }
        }
    }
}
