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

    /** Fills {@code out[0..rowLength)} with row {@code row} of tensor {@code t}. */
    static void row(SynthTensor t, long seed, long row, float[] out) {
        int n = (int) t.rowLength();
        switch (t.fill()) {
            case SynthTensor.Normal f -> normal(new SplittableRandom(rowSeed(tensorSeed(seed, t.name()), row)), f.std(), out, n);
            case SynthTensor.Around f -> {
                SplittableRandom r = new SplittableRandom(rowSeed(tensorSeed(seed, t.name()), row));
                for (int i = 0; i < n; i++) {
                    out[i] = (float) (f.center() + f.spread() * (2 * r.nextDouble() - 1));
                }
            }
            case SynthTensor.Values f -> System.arraycopy(f.values(), (int) (row * n), out, 0, n);
            case SynthTensor.MergedGateUp f -> {
                long perExpert = 2L * f.width();
                long expert = row / perExpert;
                long j = row % perExpert;
                String name = j < f.width() ? f.gateName() : f.upName();
                long logicalRow = expert * f.width() + (j < f.width() ? j : j - f.width());
                normal(new SplittableRandom(rowSeed(tensorSeed(seed, name), logicalRow)), f.std(), out, n);
            }
        }
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
