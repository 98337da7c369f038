package dev.gemma4j.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gemma4j.model.Matrix;
import dev.gemma4j.tensor.GgmlType;
import dev.gemma4j.tensor.TensorFormat;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link MatMul} reading a matrix as two streams ({@link MatMul#TWO_STREAM_BYTES}): with every matrix split
 * (threshold 0) each output is bit-identical to the one-stream product, on every one-row path (prepared
 * activations, plain dot, the batch-invariant fused tile kernel), for odd and even row counts (the second half
 * one row shorter, or not), with one to three workers; and the values are right (a double product).
 */
class TwoStreamTest {

    @ParameterizedTest
    @EnumSource(names = {"F32", "Q8_0", "Q5_0", "Q4_K", "Q6_K", "MXFP4"})
    void twoStreamsGiveTheOneStreamValues(GgmlType t) {
        TensorFormat f = TensorFormat.of(t);
        int cols = 512;
        Random rnd = new Random(23 + t.ordinal());
        for (int rows : new int[] {2 * 48 * 2 + 37, 2 * 48 * 2 + 38, 3}) {
            long rowBytes = f.rowBytes(cols);
            try (Arena arena = Arena.ofShared()) {
                MemorySegment data = arena.allocate(rowBytes * rows, 64);
                float[] wRow = new float[cols];
                for (int r = 0; r < rows; r++) {
                    for (int i = 0; i < cols; i++) {
                        wRow[i] = (float) rnd.nextGaussian() * 0.1f;
                    }
                    f.quantize(wRow, 0, cols, data, r * rowBytes);
                }
                Matrix m = new Matrix("w", f, data, cols, rows, rowBytes);
                assertEquals((rows + 1) / 2, MatMul.secondStream(m, 1, 0));
                float[] xs = new float[cols];
                for (int i = 0; i < cols; i++) {
                    xs[i] = (float) rnd.nextGaussian();
                }
                for (boolean invariant : new boolean[] {false, true}) {
                    float[] one = new float[rows];
                    try (WorkerPool pool = new WorkerPool(1)) {
                        new MatMul(pool, cols, 2, invariant, Long.MAX_VALUE).add(m, xs, 0, 1, one, 0, rows).run();
                    }
                    TileInvarianceTest.checkValues(m, xs, new float[][] {one}, cols, rows);
                    for (int threads = 1; threads <= 3; threads++) {
                        try (WorkerPool pool = new WorkerPool(threads)) {
                            float[] two = new float[rows];
                            new MatMul(pool, cols, 2, invariant, 0).add(m, xs, 0, 1, two, 0, rows).run();
                            assertArrayEquals(one, two, t + ", " + rows + " rows, invariant " + invariant + ", " + threads + " workers");
                        }
                    }
                }
            }
        }
    }

    @Test
    void onlyOneRowProductsOfLargeMatricesAreSplit() {
        TensorFormat f = TensorFormat.of(GgmlType.F32);
        try (Arena arena = Arena.ofConfined()) {
            Matrix m = new Matrix("w", f, arena.allocate(4L * 64 * 9), 64, 9, 4L * 64);
            assertEquals(5, MatMul.secondStream(m, 1, 0));
            assertEquals(0, MatMul.secondStream(m, 2, 0), "several activation rows go through the tile");
            assertEquals(0, MatMul.secondStream(m, 1, m.byteSize() + 1), "smaller than the threshold");
            assertEquals(0, MatMul.secondStream(m, 1, MatMul.TWO_STREAM_BYTES), "2 KB is far below 64 MB");
        }
    }
}
