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
        return LANES >= 16 ? sum16(v) : LANES >= 8 ? sum8(v) : sum4(v);
    }

    // One step per method, each far below C2's MaxInlineSize (35 bytes), so that they are inlined into a
    // kernel even where its call to sum is not frequent enough to count as hot: a sum left out of line
    // receives its vector boxed (an allocation per call; KernelAllocationTest).
    private static float sum16(FloatVector v) {
        return sum8(v.add(v.rearrange(SWAP8)));
    }

    private static float sum8(FloatVector v) {
        return sum4(v.add(v.rearrange(SWAP4)));
    }

    private static float sum4(FloatVector v) {
        return sum2(v.add(v.rearrange(SWAP2)));
    }

    private static float sum2(FloatVector v) {
        return v.add(v.rearrange(SWAP1)).lane(0);
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
