package dev.gemma4j.cpu;

import dev.gemma4j.tensor.Vectors;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/** The element-wise primitives of spec §3.1 over float arrays, SIMD where it matters. */
final class VectorMath {
    /** The kernels' width ({@link Vectors#BITS}; the preferred species when that selects scalar kernels). */
    static final VectorSpecies<Float> F = Vectors.BITS >= 128
            ? VectorSpecies.of(float.class, VectorShape.forBitSize(Vectors.BITS)) : FloatVector.SPECIES_PREFERRED;

    private static final int LANES = F.length();

    // Shuffles of the fixed-order lane sum: lane i with lane i ^ h.
    private static final VectorShuffle<Float> SWAP8 = swap(8);
    private static final VectorShuffle<Float> SWAP4 = swap(4);
    private static final VectorShuffle<Float> SWAP2 = swap(2);
    private static final VectorShuffle<Float> SWAP1 = swap(1);

    private static VectorShuffle<Float> swap(int h) {
        int[] idx = new int[F.length()];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = (i ^ h) % idx.length;
        }
        return VectorShuffle.fromArray(F, idx, 0);
    }

    /**
     * Sum of the lanes in a fixed order (pairwise, lanes half a vector apart first), the same in the
     * interpreter and in compiled code: {@code reduceLanes(ADD)} leaves the order open, and the interpreter
     * (lane by lane) and C2 (a tree) differ, which made results depend on how warm the JIT was.
     */
    static float sum(FloatVector v) {
        // all steps in this one body, no nested calls (the same reason and the same steps as the tensor package's
        // Simd.sum): a chain of one-step methods was now and then left out of line inside a compiled kernel, where
        // its vector is boxed (an allocation per call; seen as a separately compiled `sum` taking 2.7 % of a
        // prefill's samples)
        FloatVector s = v;
        if (LANES >= 16) {
            s = s.add(s.rearrange(SWAP8));
        }
        if (LANES >= 8) {
            s = s.add(s.rearrange(SWAP4));
        }
        s = s.add(s.rearrange(SWAP2));
        return s.add(s.rearrange(SWAP1)).lane(0);
    }

    private VectorMath() {
    }

    /** {@code Σ a[ao+i]·b[bo+i]}, i < n. */
    static float dot(float[] a, int ao, float[] b, int bo, int n) {
        int i = 0;
        int upper = F.loopBound(n);
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int step = F.length();
        for (; i + step <= upper - step; i += 2 * step) {
            acc0 = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc0);
            acc1 = FloatVector.fromArray(F, a, ao + i + step).fma(FloatVector.fromArray(F, b, bo + i + step), acc1);
        }
        for (; i < upper; i += step) {
            acc0 = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc0);
        }
        float s = sum(acc0.add(acc1));
        for (; i < n; i++) {
            s += a[ao + i] * b[bo + i];
        }
        return s;
    }

    /**
     * Four {@link #dot}s of rows {@code a[a0..]}, {@code a[a1..]}, {@code a[a2..]}, {@code a[a3..]} with the same
     * {@code b}, into {@code out[oo..oo+3]}: each summed exactly as {@link #dot} sums it (two accumulators over
     * alternate vectors, their sum, the fixed lane sum, the scalar tail), with eight independent chains where one
     * {@code dot} has two (the attention scores of four positions; one dot's chains wait on the FMA latency).
     */
    static void dot4(float[] a, int a0, int a1, int a2, int a3, float[] b, int bo, int n, float[] out, int oo) {
        int i = 0;
        int upper = F.loopBound(n);
        int step = F.length();
        FloatVector x0 = FloatVector.zero(F), x1 = FloatVector.zero(F), x2 = FloatVector.zero(F), x3 = FloatVector.zero(F);
        FloatVector y0 = FloatVector.zero(F), y1 = FloatVector.zero(F), y2 = FloatVector.zero(F), y3 = FloatVector.zero(F);
        for (; i + step <= upper - step; i += 2 * step) {
            FloatVector b0 = FloatVector.fromArray(F, b, bo + i);
            FloatVector b1 = FloatVector.fromArray(F, b, bo + i + step);
            x0 = FloatVector.fromArray(F, a, a0 + i).fma(b0, x0);
            y0 = FloatVector.fromArray(F, a, a0 + i + step).fma(b1, y0);
            x1 = FloatVector.fromArray(F, a, a1 + i).fma(b0, x1);
            y1 = FloatVector.fromArray(F, a, a1 + i + step).fma(b1, y1);
            x2 = FloatVector.fromArray(F, a, a2 + i).fma(b0, x2);
            y2 = FloatVector.fromArray(F, a, a2 + i + step).fma(b1, y2);
            x3 = FloatVector.fromArray(F, a, a3 + i).fma(b0, x3);
            y3 = FloatVector.fromArray(F, a, a3 + i + step).fma(b1, y3);
        }
        for (; i < upper; i += step) {
            FloatVector b0 = FloatVector.fromArray(F, b, bo + i);
            x0 = FloatVector.fromArray(F, a, a0 + i).fma(b0, x0);
            x1 = FloatVector.fromArray(F, a, a1 + i).fma(b0, x1);
            x2 = FloatVector.fromArray(F, a, a2 + i).fma(b0, x2);
            x3 = FloatVector.fromArray(F, a, a3 + i).fma(b0, x3);
        }
        float s0 = sum(x0.add(y0));
        float s1 = sum(x1.add(y1));
        float s2 = sum(x2.add(y2));
        float s3 = sum(x3.add(y3));
        for (; i < n; i++) {
            float bv = b[bo + i];
            s0 += a[a0 + i] * bv;
            s1 += a[a1 + i] * bv;
            s2 += a[a2 + i] * bv;
            s3 += a[a3 + i] * bv;
        }
        out[oo] = s0;
        out[oo + 1] = s1;
        out[oo + 2] = s2;
        out[oo + 3] = s3;
    }

    /** {@code y[yo+i] += alpha·x[xo+i]}, i < n. */
    static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        int upper = F.loopBound(n);
        FloatVector va = FloatVector.broadcast(F, alpha);
        for (; i < upper; i += F.length()) {
            FloatVector.fromArray(F, x, xo + i).fma(va, FloatVector.fromArray(F, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) {
            y[yo + i] += alpha * x[xo + i];
        }
    }

    /**
     * RMSNorm in place or into {@code dst}: {@code y = x · 1/sqrt(mean(x²) + eps) · w} with the sum of
     * squares accumulated in double; {@code w == null} for the unweighted norm.
     */
    static void rmsNorm(float[] x, int xo, float[] w, float eps, float[] dst, int dsto, int n) {
        double ss = 0;
        for (int i = 0; i < n; i++) {
            double v = x[xo + i];
            ss += v * v;
        }
        float mean = (float) (ss / n);
        float scale = 1.0f / (float) Math.sqrt(mean + eps);
        if (w == null) {
            for (int i = 0; i < n; i++) {
                dst[dsto + i] = x[xo + i] * scale;
            }
        } else {
            for (int i = 0; i < n; i++) {
                dst[dsto + i] = (x[xo + i] * scale) * w[i];
            }
        }
    }

    private static final float SQRT_2_OVER_PI = 0.7978845608f;
    private static final float GELU_COEF_A = 0.044715f;

    /** GELU, tanh approximation, evaluated in f32. */
    static float geluExact(float x) {
        return 0.5f * x * (1.0f + (float) Math.tanh(SQRT_2_OVER_PI * x * (1.0f + GELU_COEF_A * x * x)));
    }

    /**
     * f16 of {@link #geluExact} for every f16 input, indexed by the input's f16 bits: llama.cpp's CPU
     * evaluates GELU this way (spec §8.3). Using the same table removes most of the remaining difference
     * to llama.cpp on f32 models and replaces a tanh by a lookup.
     */
    private static final short[] GELU_F16 = new short[1 << 16];

    static {
        for (int i = 0; i < GELU_F16.length; i++) {
            GELU_F16[i] = Float.floatToFloat16(geluExact(Float.float16ToFloat((short) i)));
        }
    }

    /** GELU as llama.cpp computes it: 0 below −10, identity above 10, else the f16 table at f16(x). */
    static float gelu(float x) {
        if (x <= -10f) {
            return 0f;
        }
        if (x >= 10f) {
            return x;
        }
        return Float.float16ToFloat(GELU_F16[Float.floatToFloat16(x) & 0xffff]);
    }

    /** {@code out[i] = gelu(gate[i])·up[i]}. */
    static void geglu(float[] gate, int go, float[] up, int uo, float[] out, int oo, int n) {
        for (int i = 0; i < n; i++) {
            out[oo + i] = gelu(gate[go + i]) * up[uo + i];
        }
    }

    /** Softmax in place over {@code x[o .. o+n)}. */
    static void softmax(float[] x, int o, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[o + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(x[o + i] - max);
            x[o + i] = e;
            sum += e;
        }
        float inv = (float) (1.0 / sum);
        for (int i = 0; i < n; i++) {
            x[o + i] *= inv;
        }
    }
}
