package dev.gemma4j.cpu;

import dev.gemma4j.model.Matrix;
import dev.gemma4j.model.NonFiniteValueException;
import dev.gemma4j.tensor.TensorFormat;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix products {@code Y = X·Wᵀ} of weights in any stored format with a batch of activation rows,
 * collected as jobs and run together in one parallel region (e.g. Q, K and V; every active expert).
 * <p>
 * One activation row (decoding): each weight row is dotted with it through its {@code TensorFormat}.
 * Several rows (a prefill chunk, the tokens routed to one expert, several sessions): each weight row is
 * decoded once, into a small per-worker tile, and dotted with every activation row, so the weights are
 * streamed once per batch rather than once per token. A format may decode its tile rows in an order of
 * its own ({@link TensorFormat#tileOrdered}, Q6_K at 128/256 bits: the order its vector kernel unpacks
 * cheaply); the job's activation rows are then put in the same order first.
 * <p>
 * With {@code batchInvariant} a single activation row goes through the tile path too, so that each row is
 * reduced in one order ({@link #dot1}'s) whether it is alone or one of many: the format's own dot kernel sums
 * in another order, which would make a sequence's results depend on what shares its batch. One or two rows take
 * the format's fused kernel where it has one ({@link TensorFormat#dotTile}): the tile path's results, bit for bit,
 * without writing the tile.
 * <p>
 * One activation row whose weight format prepares activations ({@link TensorFormat#preparedSize}, Q4_K and
 * Q6_K at every vector width): the row is put in the kernel's order once per job (shared by jobs with the same
 * input) and every weight row is dotted with that. Not with {@code batchInvariant}, which keeps the tile path.
 * <p>
 * Activations are first rounded the way llama.cpp rounds them for the weight's type
 * ({@link ActivationRounding}), so that results agree with it closely whatever the format.
 */
final class MatMul {
    private static final VectorSpecies<Float> F = VectorMath.F;
    /** Tile rows per register block when several activation rows share the tile ({@link #dot3x3}). */
    static final int TILE_ROWS = 3;
    /** Weight rows decoded into a worker's tile at a time (a multiple of {@link #TILE_ROWS} and of 8). */
    static final int TILE_BLOCK = 24;
    /**
     * A region of one-row products (decoding one sequence) whose weights are at least this large is read as two
     * streams far apart: its row blocks are cut into two halves and each pool task runs block i with block
     * i + half, rows alternating. A decoding core that streams its share of the weights from memory in one
     * sequence waits on it: the 605 MB Q6_K LM head of Gemma 4 ran at 22-29 GB/s on two threads, and at 40-42
     * GB/s (the machine's read rate) as two streams per thread; the same kernel runs at 23 GB/s per core from L2.
     * Which task computes a row never changes its value.
     */
    static final long TWO_STREAM_BYTES = 64L << 20;
    /** 512-bit vectors: AVX-512's 32 registers hold a 4x4 register block ({@link #dot4x4}). */
    private static final boolean WIDE = F.length() == 16;

    private final WorkerPool pool;
    private final boolean batchInvariant;
    private final float[][] tiles;
    private final WorkerPool.Body body = this::task;

    private final Matrix[] w;
    private final float[][] x;
    private final int[] xOff;
    private final int[] n;
    private final float[][] y;
    private final int[] yOff;
    private final int[] yStride;
    private final int[] blockRows;
    private final int[] taskStart;
    private final long twoStreamBytes;
    /** The distance between the two row blocks a pool task of this region runs, or 0 (one block per task). */
    private int pairOffset;
    private final float[][] sourceX;
    private final int[] sourceOff;
    private final ActivationRounding[] rounding;
    /** Per job: its activation rows after rounding, in the natural order (x/xOff may hold them in the tile order). */
    private final float[][] plainX;
    private final int[] plainOff;
    private final boolean[] permuted;
    private float[] rounded = new float[0];
    private int roundedUsed;
    /** Per job: its activation row in the format's prepared form ({@link #prepared} at {@link #preparedOff}), or null. */
    private final float[][] preparedX;
    private final int[] preparedOff;
    private float[] prepared = new float[0];
    private int preparedUsed;
    private int jobs;

    MatMul(WorkerPool pool, int maxCols, int maxJobs) {
        this(pool, maxCols, maxJobs, false);
    }

    MatMul(WorkerPool pool, int maxCols, int maxJobs, boolean batchInvariant) {
        this(pool, maxCols, maxJobs, batchInvariant, TWO_STREAM_BYTES);
    }

    /** {@code twoStreamBytes}: the size from which a one-row product reads its matrix as two streams. */
    MatMul(WorkerPool pool, int maxCols, int maxJobs, boolean batchInvariant, long twoStreamBytes) {
        this.pool = pool;
        this.batchInvariant = batchInvariant;
        this.twoStreamBytes = twoStreamBytes;
        tiles = new float[pool.threads()][Math.max(TILE_BLOCK * maxCols, TensorFormat.TILE_DOT_SCRATCH)];
        w = new Matrix[maxJobs];
        x = new float[maxJobs][];
        xOff = new int[maxJobs];
        n = new int[maxJobs];
        y = new float[maxJobs][];
        yOff = new int[maxJobs];
        yStride = new int[maxJobs];
        blockRows = new int[maxJobs];
        taskStart = new int[maxJobs + 1];
        sourceX = new float[maxJobs][];
        sourceOff = new int[maxJobs];
        rounding = new ActivationRounding[maxJobs];
        plainX = new float[maxJobs][];
        plainOff = new int[maxJobs];
        permuted = new boolean[maxJobs];
        preparedX = new float[maxJobs][];
        preparedOff = new int[maxJobs];
    }

    /**
     * Adds {@code y[yOff + b·yStride + r] = Σ_c W[r][c]·x[xOff + b·cols + c]} for {@code b < rows}, all r.
     */
    MatMul add(Matrix m, float[] xs, int xOffset, int rows, float[] ys, int yOffset, int yRowStride) {
        if (rows == 0) {
            return this;
        }
        int j = jobs++;
        w[j] = m;
        sourceX[j] = xs;
        sourceOff[j] = xOffset;
        ActivationRounding ar = ActivationRounding.forWeights(m.format().type());
        rounding[j] = ar;
        if (ar != ActivationRounding.NONE) {
            int shared = -1;
            for (int k = 0; k < j && shared < 0; k++) {
                if (sourceX[k] == xs && sourceOff[k] == xOffset && n[k] == rows && rounding[k] == ar && w[k].cols() == m.cols()) {
                    shared = k;
                }
            }
            if (shared >= 0) {
                xs = plainX[shared];
                xOffset = plainOff[shared];
            } else {
                int cols = m.cols();
                ensureRounded(roundedUsed + rows * cols);
                for (int b = 0; b < rows; b++) {
                    ar.apply(sourceX[j], sourceOff[j] + b * cols, rounded, roundedUsed + b * cols, cols);
                }
                xs = rounded;
                xOffset = roundedUsed;
                roundedUsed += rows * cols;
            }
        }
        int ps = rows == 1 && !batchInvariant ? m.format().preparedSize(m.cols()) : 0;
        plainX[j] = xs;
        plainOff[j] = xOffset;
        permuted[j] = false;
        if (ps == 0 && (rows > 1 || batchInvariant) && m.format().tileOrdered()) {
            // the tile path with a format that decodes its rows in an order of its own: the activation rows
            // are put in that order once per job (shared by jobs with the same input and format)
            int shared = -1;
            for (int k = 0; k < j && shared < 0; k++) {
                if (permuted[k] && plainX[k] == xs && plainOff[k] == xOffset && n[k] == rows && w[k].format() == m.format()
                        && w[k].cols() == m.cols()) {
                    shared = k;
                }
            }
            permuted[j] = true;
            if (shared >= 0) {
                xs = x[shared];
                xOffset = xOff[shared];
            } else {
                int cols = m.cols();
                ensureRounded(roundedUsed + rows * cols);
                float[] from = plainX[j];
                for (int b = 0; b < rows; b++) {
                    m.format().permuteTile(from, xOffset + b * cols, cols, rounded, roundedUsed + b * cols);
                }
                xs = rounded;
                xOffset = roundedUsed;
                roundedUsed += rows * cols;
            }
        }
        x[j] = xs;
        xOff[j] = xOffset;
        n[j] = rows;
        preparedX[j] = null;
        if (ps > 0) {
            int shared = -1;
            for (int k = 0; k < j && shared < 0; k++) {
                if (preparedX[k] != null && x[k] == xs && xOff[k] == xOffset && w[k].format() == m.format() && w[k].cols() == m.cols()) {
                    shared = k;
                }
            }
            if (shared >= 0) {
                preparedX[j] = preparedX[shared];
                preparedOff[j] = preparedOff[shared];
            } else {
                ensurePrepared(preparedUsed + ps);
                m.format().prepare(xs, xOffset, m.cols(), prepared, preparedUsed);
                preparedX[j] = prepared;
                preparedOff[j] = preparedUsed;
                preparedUsed += ps;
            }
        }
        y[j] = ys;
        yOff[j] = yOffset;
        yStride[j] = yRowStride;
        return this;
    }

    /** Grows the rounded-activation buffer (only until it has seen the largest batch), keeping earlier jobs' rows. */
    private void ensureRounded(int size) {
        if (size <= rounded.length) {
            return;
        }
        float[] bigger = new float[Math.max(size, rounded.length * 2)];
        System.arraycopy(rounded, 0, bigger, 0, roundedUsed);
        for (int k = 0; k < jobs; k++) {
            if (x[k] == rounded) {
                x[k] = bigger;
            }
            if (plainX[k] == rounded) {
                plainX[k] = bigger;
            }
        }
        rounded = bigger;
    }

    /** Grows the prepared-activation buffer (only until it has seen the largest step), keeping earlier jobs' rows. */
    private void ensurePrepared(int size) {
        if (size <= prepared.length) {
            return;
        }
        float[] bigger = new float[Math.max(size, prepared.length * 2)];
        System.arraycopy(prepared, 0, bigger, 0, preparedUsed);
        for (int k = 0; k < jobs; k++) {
            if (preparedX[k] == prepared) {
                preparedX[k] = bigger;
            }
        }
        prepared = bigger;
    }

    /** Runs every added job and clears the list. */
    void run() {
        int total = 0;
        int threads = pool.threads();
        for (int j = 0; j < jobs; j++) {
            int rows = w[j].rows();
            int block = n[j] == 1 ? 48 : TILE_BLOCK;
            while (block > TILE_ROWS && (rows + block - 1) / block < 4 * threads) {
                block /= 2;
            }
            blockRows[j] = block;
            taskStart[j] = total;
            total += (rows + block - 1) / block;
        }
        taskStart[jobs] = total;
        pairOffset = twoStreams() ? (total + 1) / 2 : 0;
        int tasks = pairOffset > 0 ? pairOffset : total;
        try {
            if (StepProfile.ENABLED) {
                runProfiled(tasks);
            } else {
                pool.forEach(tasks, body);
            }
            checkFinite();
        } finally {
            for (int j = 0; j < jobs; j++) {
                w[j] = null;
                x[j] = null;
                y[j] = null;
                sourceX[j] = null;
                preparedX[j] = null;
                plainX[j] = null;
            }
            jobs = 0;
            roundedUsed = 0;
            preparedUsed = 0;
        }
    }

    /** {@link #run}'s parallel region, timed into {@link StepProfile} under its first tensor's kind. */
    private void runProfiled(int total) {
        long bytes = 0;
        for (int j = 0; j < jobs; j++) {
            bytes += w[j].byteSize();
        }
        StepProfile.start();
        pool.forEach(total, body);
        StepProfile.stop(StepProfile.partOf(w[0].name()), bytes);
    }

    /**
     * Fails on the first job whose outputs hold NaN or infinity, naming its tensor: a corrupt or badly
     * quantized file must give a clear error, not NaN flowing into the router or the sampler. One pass over
     * the outputs, which are small next to the weights that produced them.
     */
    private void checkFinite() {
        for (int j = 0; j < jobs; j++) {
            float[] ys = y[j];
            int rows = w[j].rows();
            for (int b = 0; b < n[j]; b++) {
                int o = yOff[j] + b * yStride[j];
                float probe = 0f;
                for (int r = 0; r < rows; r++) {
                    probe += ys[o + r] * 0f;
                }
                if (probe != 0f) {
                    throw new NonFiniteValueException(w[j].name());
                }
            }
        }
    }

    /** Whether the last {@link #run} read its region as two streams (for tests). */
    boolean lastRunPaired() {
        return pairOffset > 0;
    }

    /** Whether this region is read as two streams: one activation row per job, {@link #TWO_STREAM_BYTES} of weights. */
    private boolean twoStreams() {
        long bytes = 0;
        for (int j = 0; j < jobs; j++) {
            if (n[j] != 1) {
                return false;
            }
            bytes += w[j].byteSize();
        }
        return taskStart[jobs] > 1 && bytes >= twoStreamBytes;
    }

    private void task(int index, int worker) {
        int b = index + pairOffset;
        if (pairOffset == 0 || b >= taskStart[jobs]) {
            block(index, worker);
            return;
        }
        // blocks index and b, rows alternating where both have a one-row kernel
        int ja = jobOf(index);
        int jb = jobOf(b);
        int a0 = (index - taskStart[ja]) * blockRows[ja];
        int a1 = Math.min(w[ja].rows(), a0 + blockRows[ja]);
        int b0 = (b - taskStart[jb]) * blockRows[jb];
        int b1 = Math.min(w[jb].rows(), b0 + blockRows[jb]);
        float[] scratch = tiles[worker];
        boolean rowsA = row(ja, a0, scratch);
        boolean rowsB = row(jb, b0, scratch);
        for (int k = 1; k < Math.max(a1 - a0, b1 - b0); k++) {
            if (rowsA && a0 + k < a1) {
                row(ja, a0 + k, scratch);
            }
            if (rowsB && b0 + k < b1) {
                row(jb, b0 + k, scratch);
            }
        }
        if (!rowsA) {
            tileRange(ja, a0, a1, scratch);
        }
        if (!rowsB) {
            tileRange(jb, b0, b1, scratch);
        }
    }

    private int jobOf(int block) {
        int j = 0;
        while (taskStart[j + 1] <= block) {
            j++;
        }
        return j;
    }

    /** Row block {@code index}: one row at a time where its job has a one-row kernel, else through the tile. */
    private void block(int index, int worker) {
        int j = jobOf(index);
        int r0 = (index - taskStart[j]) * blockRows[j];
        int r1 = Math.min(w[j].rows(), r0 + blockRows[j]);
        float[] scratch = tiles[worker];
        if (r0 < r1 && row(j, r0, scratch)) {
            for (int r = r0 + 1; r < r1; r++) {
                row(j, r, scratch);
            }
            return;
        }
        tileRange(j, r0, r1, scratch);
    }

    /**
     * Weight row r of job j against its activation rows by a one-row kernel: prepared activations, the plain dot,
     * or (one or two rows, batch-invariant) the format's fused tile kernel, which gives the tile path's results bit
     * for bit without storing the tile. False (nothing written) where the job has none: it goes through the tile.
     */
    private boolean row(int j, int r, float[] scratch) {
        Matrix m = w[j];
        if (preparedX[j] != null) {
            y[j][yOff[j] + r] = m.format().dotPrepared(m.data(), r * m.rowBytes(), preparedX[j], preparedOff[j], m.cols());
            return true;
        }
        if (n[j] == 1 && !batchInvariant) {
            y[j][yOff[j] + r] = m.dotRow(r, x[j], xOff[j]);
            return true;
        }
        return n[j] <= TensorFormat.TILE_DOT_ROWS
                && m.format().dotTile(m.data(), r * m.rowBytes(), x[j], xOff[j], n[j], y[j], yOff[j] + r, yStride[j], m.cols(), scratch);
    }

    /** Weight rows r0 .. r1 of job j against its activation rows through the worker's tile. */
    private void tileRange(int j, int r0, int r1, float[] scratch) {
        tileRange(w[j], r0, r1, n[j], x[j], xOff[j], y[j], yOff[j], yStride[j], scratch);
    }

    /** Weight rows r0 .. r1 of m against nj activation rows: decoded into the worker's tile a block at a time. */
    private static void tileRange(Matrix m, int r0, int r1, int nj, float[] xs, int xs0, float[] ys, int ys0, int yst, float[] tile) {
        int cols = m.cols();
        boolean ordered = m.format().tileOrdered();
        for (int rb = r0; rb < r1; rb += TILE_BLOCK) {
            int t = Math.min(TILE_BLOCK, r1 - rb);
            for (int k = 0; k < t; k++) {
                if (ordered) {
                    m.dequantizeTileRow(rb + k, tile, k * cols);
                } else {
                    m.dequantizeRow(rb + k, tile, k * cols);
                }
            }
            // activation rows outermost, three at a time: a group stays in L1 while the block's tile rows stream
            // by, three tile rows per register block
            int triples = t - t % TILE_ROWS;
            int b = 0;
            if (WIDE) {
                int quads = t - t % 4;
                for (; b + 4 <= nj; b += 4) {
                    for (int q = 0; q < quads; q += 4) {
                        dot4x4(tile, q * cols, cols, xs, xs0 + b * cols, ys, ys0 + b * yst + rb + q, yst);
                    }
                    for (int k = quads; k < t; k++) {
                        for (int r = 0; r < 4; r++) {
                            ys[ys0 + (b + r) * yst + rb + k] = dot1(tile, k * cols, cols, xs, xs0 + (b + r) * cols);
                        }
                    }
                }
            }
            for (; b + 3 <= nj; b += 3) {
                for (int q = 0; q < triples; q += TILE_ROWS) {
                    dot3x3(tile, q * cols, cols, xs, xs0 + b * cols, ys, ys0 + b * yst + rb + q, yst);
                }
                for (int k = triples; k < t; k++) {
                    for (int r = 0; r < 3; r++) {
                        ys[ys0 + (b + r) * yst + rb + k] = dot1(tile, k * cols, cols, xs, xs0 + (b + r) * cols);
                    }
                }
            }
            // the last one or two activation rows (and a lone decoding row) one at a time, eight tile rows per
            // block: eight accumulator chains keep both FMA pipes busy, where a 3x2 or 3x1 block ran slower
            for (; b < nj; b++) {
                int xo = xs0 + b * cols;
                int yo = ys0 + b * yst + rb;
                int q = 0;
                for (; q + 8 <= t; q += 8) {
                    dot8(tile, q * cols, cols, xs, xo, ys, yo + q);
                }
                for (; q + 4 <= t; q += 4) {
                    dot4(tile, q * cols, cols, xs, xo, ys, yo + q);
                }
                for (; q < t; q++) {
                    ys[yo + q] = dot1(tile, q * cols, cols, xs, xo);
                }
            }
        }
    }

    /**
     * Nine dot products: three tile rows with three consecutive activation rows (starting at {@code xo},
     * {@code cols} apart), each loaded tile vector used three times and each activation vector three times.
     * Nine accumulators, three activation vectors and one tile vector leave C2 registers to spare on AVX2's
     * sixteen: a 4x3 block (twelve accumulators) kept two of them on the stack, and the store-reload in their
     * chains held it at ~40 GFLOP/s per core where this runs at ~65. Every product is summed in the same order
     * as {@link #dot1}'s (one accumulator along the row, the fixed lane sum, then the scalar tail), so neither
     * the batch grouping nor a row's place in a block changes a result.
     */
    private static void dot3x3(float[] tile, int to, int cols, float[] xs, int xo, float[] ys, int yo, int yStride) {
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F), a02 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F), a12 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F), a22 = FloatVector.zero(F);
        int upper = F.loopBound(cols);
        int i = 0;
        int x1 = xo + cols;
        int x2 = xo + 2 * cols;
        int c0 = to;
        int c1 = to + cols;
        int c2 = to + 2 * cols;
        for (; i < upper; i += F.length()) {
            FloatVector v0 = FloatVector.fromArray(F, xs, xo + i);
            FloatVector v1 = FloatVector.fromArray(F, xs, x1 + i);
            FloatVector v2 = FloatVector.fromArray(F, xs, x2 + i);
            FloatVector w = FloatVector.fromArray(F, tile, c0 + i);
            a00 = w.fma(v0, a00);
            a10 = w.fma(v1, a10);
            a20 = w.fma(v2, a20);
            w = FloatVector.fromArray(F, tile, c1 + i);
            a01 = w.fma(v0, a01);
            a11 = w.fma(v1, a11);
            a21 = w.fma(v2, a21);
            w = FloatVector.fromArray(F, tile, c2 + i);
            a02 = w.fma(v0, a02);
            a12 = w.fma(v1, a12);
            a22 = w.fma(v2, a22);
        }
        float s00 = VectorMath.sum(a00), s01 = VectorMath.sum(a01), s02 = VectorMath.sum(a02);
        float s10 = VectorMath.sum(a10), s11 = VectorMath.sum(a11), s12 = VectorMath.sum(a12);
        float s20 = VectorMath.sum(a20), s21 = VectorMath.sum(a21), s22 = VectorMath.sum(a22);
        for (; i < cols; i++) {
            float t0 = tile[c0 + i], t1 = tile[c1 + i], t2 = tile[c2 + i];
            float v0 = xs[xo + i], v1 = xs[x1 + i], v2 = xs[x2 + i];
            s00 += t0 * v0;
            s01 += t1 * v0;
            s02 += t2 * v0;
            s10 += t0 * v1;
            s11 += t1 * v1;
            s12 += t2 * v1;
            s20 += t0 * v2;
            s21 += t1 * v2;
            s22 += t2 * v2;
        }
        ys[yo] = s00;
        ys[yo + 1] = s01;
        ys[yo + 2] = s02;
        int o = yo + yStride;
        ys[o] = s10;
        ys[o + 1] = s11;
        ys[o + 2] = s12;
        o += yStride;
        ys[o] = s20;
        ys[o + 1] = s21;
        ys[o + 2] = s22;
    }

    /**
     * At 512 bits (32 vector registers): sixteen dot products, four tile rows with four consecutive activation
     * rows, each loaded vector used four times (16 accumulators, 4 activation vectors, 1 tile vector). Each
     * product summed as {@link #dot1}'s, so results equal the 3x3 blocks' bit for bit.
     */
    private static void dot4x4(float[] tile, int to, int cols, float[] xs, int xo, float[] ys, int yo, int yStride) {
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F), a02 = FloatVector.zero(F), a03 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F), a12 = FloatVector.zero(F), a13 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F), a22 = FloatVector.zero(F), a23 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F), a32 = FloatVector.zero(F), a33 = FloatVector.zero(F);
        int upper = F.loopBound(cols);
        int i = 0;
        int x1 = xo + cols;
        int x2 = xo + 2 * cols;
        int x3 = xo + 3 * cols;
        int c0 = to;
        int c1 = to + cols;
        int c2 = to + 2 * cols;
        int c3 = to + 3 * cols;
        for (; i < upper; i += F.length()) {
            FloatVector v0 = FloatVector.fromArray(F, xs, xo + i);
            FloatVector v1 = FloatVector.fromArray(F, xs, x1 + i);
            FloatVector v2 = FloatVector.fromArray(F, xs, x2 + i);
            FloatVector v3 = FloatVector.fromArray(F, xs, x3 + i);
            FloatVector w = FloatVector.fromArray(F, tile, c0 + i);
            a00 = w.fma(v0, a00);
            a10 = w.fma(v1, a10);
            a20 = w.fma(v2, a20);
            a30 = w.fma(v3, a30);
            w = FloatVector.fromArray(F, tile, c1 + i);
            a01 = w.fma(v0, a01);
            a11 = w.fma(v1, a11);
            a21 = w.fma(v2, a21);
            a31 = w.fma(v3, a31);
            w = FloatVector.fromArray(F, tile, c2 + i);
            a02 = w.fma(v0, a02);
            a12 = w.fma(v1, a12);
            a22 = w.fma(v2, a22);
            a32 = w.fma(v3, a32);
            w = FloatVector.fromArray(F, tile, c3 + i);
            a03 = w.fma(v0, a03);
            a13 = w.fma(v1, a13);
            a23 = w.fma(v2, a23);
            a33 = w.fma(v3, a33);
        }
        float s00 = VectorMath.sum(a00), s01 = VectorMath.sum(a01), s02 = VectorMath.sum(a02), s03 = VectorMath.sum(a03);
        float s10 = VectorMath.sum(a10), s11 = VectorMath.sum(a11), s12 = VectorMath.sum(a12), s13 = VectorMath.sum(a13);
        float s20 = VectorMath.sum(a20), s21 = VectorMath.sum(a21), s22 = VectorMath.sum(a22), s23 = VectorMath.sum(a23);
        float s30 = VectorMath.sum(a30), s31 = VectorMath.sum(a31), s32 = VectorMath.sum(a32), s33 = VectorMath.sum(a33);
        for (; i < cols; i++) {
            float t0 = tile[c0 + i], t1 = tile[c1 + i], t2 = tile[c2 + i], t3 = tile[c3 + i];
            float v0 = xs[xo + i], v1 = xs[x1 + i], v2 = xs[x2 + i], v3 = xs[x3 + i];
            s00 += t0 * v0;
            s01 += t1 * v0;
            s02 += t2 * v0;
            s03 += t3 * v0;
            s10 += t0 * v1;
            s11 += t1 * v1;
            s12 += t2 * v1;
            s13 += t3 * v1;
            s20 += t0 * v2;
            s21 += t1 * v2;
            s22 += t2 * v2;
            s23 += t3 * v2;
            s30 += t0 * v3;
            s31 += t1 * v3;
            s32 += t2 * v3;
            s33 += t3 * v3;
        }
        int o = yo;
        ys[o] = s00;
        ys[o + 1] = s01;
        ys[o + 2] = s02;
        ys[o + 3] = s03;
        o += yStride;
        ys[o] = s10;
        ys[o + 1] = s11;
        ys[o + 2] = s12;
        ys[o + 3] = s13;
        o += yStride;
        ys[o] = s20;
        ys[o + 1] = s21;
        ys[o + 2] = s22;
        ys[o + 3] = s23;
        o += yStride;
        ys[o] = s30;
        ys[o + 1] = s31;
        ys[o + 2] = s32;
        ys[o + 3] = s33;
    }

    /** One dot product summed in the same order as each of {@link #dot4}'s, so tiling never changes a result. */
    private static float dot1(float[] tile, int to, int cols, float[] xs, int xo) {
        FloatVector a0 = FloatVector.zero(F);
        int upper = F.loopBound(cols);
        int i = 0;
        for (; i < upper; i += F.length()) {
            a0 = FloatVector.fromArray(F, tile, to + i).fma(FloatVector.fromArray(F, xs, xo + i), a0);
        }
        float s0 = VectorMath.sum(a0);
        for (; i < cols; i++) {
            s0 += tile[to + i] * xs[xo + i];
        }
        return s0;
    }

    /** Eight dot products of consecutive tile rows with one activation row, each summed as {@link #dot1}. */
    private static void dot8(float[] tile, int to, int cols, float[] xs, int xo, float[] ys, int yo) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        FloatVector a4 = FloatVector.zero(F), a5 = FloatVector.zero(F), a6 = FloatVector.zero(F), a7 = FloatVector.zero(F);
        int upper = F.loopBound(cols);
        int i = 0;
        for (; i < upper; i += F.length()) {
            FloatVector xv = FloatVector.fromArray(F, xs, xo + i);
            a0 = FloatVector.fromArray(F, tile, to + i).fma(xv, a0);
            a1 = FloatVector.fromArray(F, tile, to + cols + i).fma(xv, a1);
            a2 = FloatVector.fromArray(F, tile, to + 2 * cols + i).fma(xv, a2);
            a3 = FloatVector.fromArray(F, tile, to + 3 * cols + i).fma(xv, a3);
            a4 = FloatVector.fromArray(F, tile, to + 4 * cols + i).fma(xv, a4);
            a5 = FloatVector.fromArray(F, tile, to + 5 * cols + i).fma(xv, a5);
            a6 = FloatVector.fromArray(F, tile, to + 6 * cols + i).fma(xv, a6);
            a7 = FloatVector.fromArray(F, tile, to + 7 * cols + i).fma(xv, a7);
        }
        float s0 = VectorMath.sum(a0), s1 = VectorMath.sum(a1), s2 = VectorMath.sum(a2), s3 = VectorMath.sum(a3);
        float s4 = VectorMath.sum(a4), s5 = VectorMath.sum(a5), s6 = VectorMath.sum(a6), s7 = VectorMath.sum(a7);
        for (; i < cols; i++) {
            float xv = xs[xo + i];
            s0 += tile[to + i] * xv;
            s1 += tile[to + cols + i] * xv;
            s2 += tile[to + 2 * cols + i] * xv;
            s3 += tile[to + 3 * cols + i] * xv;
            s4 += tile[to + 4 * cols + i] * xv;
            s5 += tile[to + 5 * cols + i] * xv;
            s6 += tile[to + 6 * cols + i] * xv;
            s7 += tile[to + 7 * cols + i] * xv;
        }
        ys[yo] = s0;
        ys[yo + 1] = s1;
        ys[yo + 2] = s2;
        ys[yo + 3] = s3;
        ys[yo + 4] = s4;
        ys[yo + 5] = s5;
        ys[yo + 6] = s6;
        ys[yo + 7] = s7;
    }

    /** Four dot products of consecutive tile rows with one activation row, sharing its loads. */
    private static void dot4(float[] tile, int to, int cols, float[] xs, int xo, float[] ys, int yo) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F);
        int c0 = to;
        int c1 = to + cols;
        int c2 = to + 2 * cols;
        int c3 = to + 3 * cols;
        int upper = F.loopBound(cols);
        int i = 0;
        for (; i < upper; i += F.length()) {
            FloatVector xv = FloatVector.fromArray(F, xs, xo + i);
            a0 = FloatVector.fromArray(F, tile, c0 + i).fma(xv, a0);
            a1 = FloatVector.fromArray(F, tile, c1 + i).fma(xv, a1);
            a2 = FloatVector.fromArray(F, tile, c2 + i).fma(xv, a2);
            a3 = FloatVector.fromArray(F, tile, c3 + i).fma(xv, a3);
        }
        float s0 = VectorMath.sum(a0);
        float s1 = VectorMath.sum(a1);
        float s2 = VectorMath.sum(a2);
        float s3 = VectorMath.sum(a3);
        for (; i < cols; i++) {
            float xv = xs[xo + i];
            s0 += tile[c0 + i] * xv;
            s1 += tile[c1 + i] * xv;
            s2 += tile[c2 + i] * xv;
            s3 += tile[c3 + i] * xv;
        }
        ys[yo] = s0;
        ys[yo + 1] = s1;
        ys[yo + 2] = s2;
        ys[yo + 3] = s3;
    }
}
