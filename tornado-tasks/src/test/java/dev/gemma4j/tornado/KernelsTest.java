package dev.gemma4j.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemma4j.tensor.GgmlType;
import dev.gemma4j.tensor.TensorFormat;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The matrix-vector kernel, the tiled product kernel with the device's grouping of pairs by expert, and the
 * embedding lookup, for every weight format, against the CPU engine's decoding of the same bytes (the
 * format's dequantize, dotted in double): the model's real row widths (2816, 704, 2112, 4096) and odd ones, a
 * few rows each; experts chosen on the device with a per-expert output scale. The tiled products (dense and
 * expert, tiles of 3 so that full, partial and one-row tiles all occur) must equal matvec's bit for bit. TornadoVM
 * compiles a kernel per new scalar value, so the cases are few.
 */
class KernelsTest {
    static Stream<Arguments> cases() {
        return Stream.of(
            Arguments.of(GgmlType.F32, 2816), Arguments.of(GgmlType.F32, 100),
            Arguments.of(GgmlType.F16, 2816), Arguments.of(GgmlType.F16, 70),
            Arguments.of(GgmlType.BF16, 2112), Arguments.of(GgmlType.BF16, 70),
            Arguments.of(GgmlType.Q8_0, 2816), Arguments.of(GgmlType.Q8_0, 704),
            Arguments.of(GgmlType.Q4_0, 2112), Arguments.of(GgmlType.Q4_0, 96),
            Arguments.of(GgmlType.Q5_0, 704), Arguments.of(GgmlType.Q5_0, 2112),
            Arguments.of(GgmlType.Q4_K, 2816), Arguments.of(GgmlType.Q4_K, 512),
            Arguments.of(GgmlType.Q6_K, 4096), Arguments.of(GgmlType.Q6_K, 256),
            Arguments.of(GgmlType.MXFP4, 2816), Arguments.of(GgmlType.MXFP4, 704));
    }

    /** Random rows in the format, as the file would store them. */
    static MemorySegment quantized(GgmlType type, float[] values, int rows, int cols) {
        TensorFormat f = TensorFormat.of(type);
        long rowBytes = f.rowBytes(cols);
        MemorySegment seg = Arena.ofAuto().allocate(rowBytes * rows, 16);
        for (int r = 0; r < rows; r++) {
            f.quantize(values, r * cols, cols, seg, r * rowBytes);
        }
        return seg;
    }

    @ParameterizedTest(name = "{0} x {1}")
    @MethodSource("cases")
    void matvecTilesAndEmbeddingMatchTheCpuDecoding(GgmlType type, int cols) {
        int experts = 3;
        int rows = 5;
        Random rnd = new Random(cols * 31L + type.ordinal());
        float[] values = new float[experts * rows * cols];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) rnd.nextGaussian() * 0.5f;
        }
        MemorySegment seg = quantized(type, values, experts * rows, cols);
        TensorFormat f = TensorFormat.of(type);
        long rowBytes = f.rowBytes(cols);
        DeviceWeight w = DeviceWeight.upload("test." + type, type, seg, cols, rows, rowBytes, experts);
        // a batch of 5 rows of which 4 are live, two slots each: slot s of row b uses expert sel[2b+s] and its own
        // input; expert 2 is chosen by 4 pairs (two tiles of 3 and 1), experts 0 and 1 by 2 (one partial tile each)
        int batch = 5;
        int live = 4;
        int slots = 2;
        int tile = 3;
        int[] chosen = {2, 0, 1, 2, 0, 2, 2, 1, 1, 0};
        float[] xs = new float[batch * slots * cols];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = (float) rnd.nextGaussian();
        }
        float[] scale = {0.5f, 2f, -1.5f};
        FloatArray x = FloatArray.fromArray(xs);
        FloatArray y = new FloatArray(batch * slots * rows);
        FloatArray yTiles = new FloatArray(batch * slots * rows);
        FloatArray yDense = new FloatArray(batch * rows);
        FloatArray yDenseTiles = new FloatArray(batch * rows);
        IntArray sel = IntArray.fromArray(chosen);
        FloatArray sc = FloatArray.fromArray(scale);
        IntArray nrows = IntArray.fromElements(live);
        FloatArray pow2 = Formats.pow2Table();
        int pairs = batch * slots;
        int maxTiles = Math.min(experts, pairs) + pairs / tile;
        int pairsAt = 1 + 3 * maxTiles;
        IntArray tiles = new IntArray(pairsAt + pairs);
        IntArray counts = new IntArray(experts);
        int vocab = experts * rows;
        FloatArray emb = new FloatArray(2 * cols);
        IntArray tokens = IntArray.fromElements(7, 13);
        IntArray two = IntArray.fromElements(2);
        int ls = 32;
        int flags = Kernels.MV_EXPERT | Kernels.MV_X_PER_SLOT | Kernels.MV_SCALE;
        TaskGraph g = new TaskGraph("k")
            .transferToDevice(DataTransferMode.EVERY_EXECUTION, w.data(), x, sel, sc, nrows, pow2, tokens, two)
            .task("mv", Kernels::matvec, new KernelContext(), w.bytes(), w.floats(), x, y, sel, sc, nrows, pow2,
                w.fmt(), rows, cols, w.rowStride(), w.expertStride(), slots, flags, ls)
            .task("group", Kernels::groupExperts, new KernelContext(), sel, counts, tiles, nrows, experts, slots, tile, pairsAt)
            .task("mt", Kernels::matmulTiles, new KernelContext(), w.bytes(), w.floats(), x, yTiles, tiles, sc, nrows, pow2,
                w.fmt(), rows, cols, w.rowStride(), w.expertStride(), slots, flags, tile, ls)
            .task("mvd", Kernels::matvec, new KernelContext(), w.bytes(), w.floats(), x, yDense, sel, sc, nrows, pow2,
                w.fmt(), rows, cols, w.rowStride(), w.expertStride(), 1, 0, ls)
            .task("mtd", Kernels::matmulTiles, new KernelContext(), w.bytes(), w.floats(), x, yDenseTiles, tiles, sc, nrows, pow2,
                w.fmt(), rows, cols, w.rowStride(), w.expertStride(), 1, 0, tile, ls)
            .task("embed", Kernels::embed, w.bytes(), w.floats(), emb, tokens, two, pow2, w.fmt(), w.rowStride(), cols, 2, 3f)
            .transferToHost(DataTransferMode.EVERY_EXECUTION, y, yTiles, yDense, yDenseTiles, tiles, emb);
        GridScheduler grid = new GridScheduler();
        grid.addWorkerGrid("k.mv", workers(batch * slots * rows, ls));
        grid.addWorkerGrid("k.group", workers(1, 1));
        grid.addWorkerGrid("k.mt", workers(maxTiles * rows, ls));
        grid.addWorkerGrid("k.mvd", workers(batch * rows, ls));
        grid.addWorkerGrid("k.mtd", workers((batch + tile - 1) / tile * rows, ls));
        ImmutableTaskGraph itg = g.snapshot();
        try (TornadoExecutionPlan plan = new TornadoExecutionPlan(itg)) {
            plan.withGridScheduler(grid).withCompilerFlags(TornadoVMBackendType.OPENCL, "-w").execute();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        // the expert table: 4 tiles (expert 0: pairs 1, 4; expert 1: 2, 7; expert 2: 0, 3, 5 and 6), pairs by expert
        int[] table = {4, 0, pairsAt, 2, 1, pairsAt + 2, 2, 2, pairsAt + 4, 3, 2, pairsAt + 7, 1};
        for (int i = 0; i < table.length; i++) {
            assertEquals(table[i], tiles.get(i), "tile table entry " + i);
        }
        int[] order = {1, 4, 2, 7, 0, 3, 5, 6};
        for (int i = 0; i < order.length; i++) {
            assertEquals(order[i], tiles.get(pairsAt + i), "pair list entry " + i);
        }
        float[] row = new float[cols];
        for (int bs = 0; bs < batch * slots; bs++) {
            int e = chosen[bs];
            for (int r = 0; r < rows; r++) {
                int o = bs * rows + r;
                if (bs >= live * slots) {
                    continue;
                }
                f.dequantize(seg, (e * rows + r) * rowBytes, row, 0, cols);
                double dot = 0;
                double mag = 0;
                for (int c = 0; c < cols; c++) {
                    dot += (double) row[c] * xs[bs * cols + c];
                    mag += Math.abs((double) row[c] * xs[bs * cols + c]);
                }
                dot *= scale[e];
                double got = y.get(o);
                assertEquals(dot, got, 1e-5 * Math.abs(scale[e]) * mag + 1e-6, type + " cols " + cols + " slot " + bs + " row " + r);
                // grouped by expert and tiled: the very same float as matvec's
                assertEquals(Float.floatToRawIntBits(y.get(o)), Float.floatToRawIntBits(yTiles.get(o)),
                    type + " cols " + cols + " expert tiles vs matvec, pair " + bs + " row " + r + ": " + yTiles.get(o) + " vs " + y.get(o));
            }
        }
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                int o = b * rows + r;
                if (b >= live) {
                    continue;
                }
                f.dequantize(seg, r * rowBytes, row, 0, cols);
                double dot = 0;
                double mag = 0;
                for (int c = 0; c < cols; c++) {
                    dot += (double) row[c] * xs[b * cols + c];
                    mag += Math.abs((double) row[c] * xs[b * cols + c]);
                }
                assertEquals(dot, yDenseTiles.get(o), 1e-5 * mag + 1e-6, type + " cols " + cols + " dense tiles, row " + b + " output " + r);
                assertEquals(Float.floatToRawIntBits(yDense.get(o)), Float.floatToRawIntBits(yDenseTiles.get(o)),
                    type + " cols " + cols + " dense tiles vs matvec, row " + b + " output " + r + ": " + yDenseTiles.get(o) + " vs " + yDense.get(o));
            }
        }
        for (int b = 0; b < 2; b++) {
            int token = tokens.get(b);
            assertTrue(token < vocab);
            f.dequantize(seg, token * rowBytes, row, 0, cols);
            for (int c = 0; c < cols; c++) {
                assertEquals(row[c] * 3f, emb.get(b * cols + c), 1e-6 * Math.abs(row[c] * 3f) + 1e-30, type + " embedding " + token + " col " + c);
            }
        }
    }

    static WorkerGrid1D workers(int groups, int local) {
        WorkerGrid1D wg = new WorkerGrid1D(groups * local);
        wg.setLocalWork(local, 1, 1);
        return wg;
    }
}
