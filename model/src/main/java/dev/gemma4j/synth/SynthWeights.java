package dev.gemma4j.synth;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * Draws the values of synthetic tensors. Each row has its own generator seeded from the model seed, the
 * tensor name and the row index, so rows can be made in any order and on any thread and the file is
 * still the same bytes for the same seed.
 */
final class SynthWeights {
    private static final double SQRT3 = Math.sqrt(3.0);

    private SynthWeights() {
    }

    /** Seed of a tensor: the model seed mixed with a 64-bit FNV-1a hash of the name. */
    static long tensorSeed(long seed, String name) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xFF;
            h *= 0x100000001b3L;
        }
        return mix(seed ^ mix(h));
    }

    static long rowSeed(long tensorSeed, long row) {
        return mix(tensorSeed + (row + 1) * 0x9E3779B97F4A7C15L);
    }

    /** The SplitMix64 finaliser. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * Rows of one source in a pool: 3-D (expert) tensors whose sources have more than
     * {@link #POOL_THRESHOLD} rows draw every row from a pool of this many distinct random rows, chosen by a
     * hash of the row index. This keeps writing the 25B-parameter model to minutes with slow quantizers
     * (only the pool is encoded), while every expert is still a different random matrix. Embeddings and
     * 2-D weights are never pooled (identical embedding rows would make tied logits).
     */
    static final int POOL_ROWS = 4096;
    static final long POOL_THRESHOLD = 4L * POOL_ROWS;

    /** Rows of each source tensor (half the rows of a merged gate_up tensor). */
    static long sourceRows(SynthTensor t) {
        return t.fill() instanceof SynthTensor.MergedGateUp ? t.rows() / 2 : t.rows();
    }

    static boolean pooled(SynthTensor t) {
        return t.shape().length == 3 && sourceRows(t) > POOL_THRESHOLD;
    }

    /** The source names of a tensor's rows: its own name, or the gate and up names of a merged tensor. */
    static String[] sources(SynthTensor t) {
        return t.fill() instanceof SynthTensor.MergedGateUp f ? new String[] {f.gateName(), f.upName()} : new String[] {t.name()};
    }

    /** A row of a tensor as (source name, row of that source). */
    record SourceRow(String name, long row) {
    }

    static SourceRow source(SynthTensor t, long row) {
        if (t.fill() instanceof SynthTensor.MergedGateUp f) {
            long perExpert = 2L * f.width();
            long expert = row / perExpert;
            long j = row % perExpert;
            return j < f.width()
                ? new SourceRow(f.gateName(), expert * f.width() + j)
                : new SourceRow(f.upName(), expert * f.width() + j - f.width());
        }
        return new SourceRow(t.name(), row);
    }

    /** The row of the source whose values a (logical) row has: itself, or its pool row. */
    static long valueRow(SynthTensor t, long seed, SourceRow s) {
        return pooled(t) ? poolIndex(seed, s.name(), s.row()) : s.row();
    }

    static int poolIndex(long seed, String name, long row) {
        return (int) Long.remainderUnsigned(mix(tensorSeed(seed, name) ^ mix(row + 0x632BE59BD9B4E019L)), POOL_ROWS);
    }

    /** Fills {@code out[0..rowLength)} with row {@code row} of tensor {@code t}. */
    static void row(SynthTensor t, long seed, long row, float[] out) {
        int n = (int) t.rowLength();
        switch (t.fill()) {
            case SynthTensor.Around f -> {
                SplittableRandom r = new SplittableRandom(rowSeed(tensorSeed(seed, t.name()), row));
                for (int i = 0; i < n; i++) {
                    out[i] = (float) (f.center() + f.spread() * (2 * r.nextDouble() - 1));
                }
            }
            case SynthTensor.Values f -> System.arraycopy(f.values(), (int) (row * n), out, 0, n);
            case SynthTensor.Normal f -> sourceRow(t.name(), valueRow(t, seed, source(t, row)), seed, f.std(), out, n);
            case SynthTensor.MergedGateUp f -> {
                SourceRow s = source(t, row);
                sourceRow(s.name(), valueRow(t, seed, s), seed, f.std(), out, n);
            }
        }
    }

    /** Values of row {@code row} of the Gaussian source {@code name}. */
    static void sourceRow(String name, long row, long seed, double std, float[] out, int n) {
        normal(new SplittableRandom(rowSeed(tensorSeed(seed, name), row)), std, out, n);
    }

    static double std(SynthTensor t) {
        return switch (t.fill()) {
            case SynthTensor.Normal f -> f.std();
            case SynthTensor.MergedGateUp f -> f.std();
            default -> throw new IllegalArgumentException(t.name() + " is not a Gaussian tensor");
        };
    }

    /**
     * Approximately Gaussian values: the sum of four 16-bit uniforms (Irwin-Hall), centred and scaled to
     * unit variance, times {@code std}; one 64-bit draw per value.
     */
    private static void normal(SplittableRandom r, double std, float[] out, int n) {
        double scale = std * SQRT3 / 65536.0;
        for (int i = 0; i < n; i++) {
            long x = r.nextLong();
            long s = (x & 0xFFFF) + ((x >>> 16) & 0xFFFF) + ((x >>> 32) & 0xFFFF) + (x >>> 48) + 2;
            out[i] = (float) ((s - 2 * 65536) * scale);
        }
    }
}
