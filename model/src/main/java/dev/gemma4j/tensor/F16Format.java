package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/** F16: IEEE binary16, two little-endian bytes per element. */
final class F16Format implements TensorFormat {

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int i = 0; i < n; i++) {
            dst[dstOffset + i] = Bits.f16(src, offset + 2L * i);
        }
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        return Simd.ENABLED ? dotVector(src, offset, x, xOffset, n) : dotScalar(src, offset, x, xOffset, n);
    }

    static float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) {
            s += Bits.f16(src, offset + 2L * i) * x[xOffset + i];
        }
        return s;
    }

    /** 16 halves to floats exactly: rescale the exponent by 2^112 (exact for normals and subnormals), patch inf/NaN. */
    static FloatVector halfToFloat(ShortVector h16) {
        IntVector h = (IntVector) h16.convertShape(VectorOperators.S2I, Simd.I, 0);
        IntVector magnitude = h.and(0x7fff);
        IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
        IntVector finite = shifted.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
        VectorMask<Integer> special = magnitude.compare(VectorOperators.GE, 0x7c00);
        IntVector bits = finite.blend(shifted.or(0x7f800000), special).or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16));
        return bits.reinterpretAsFloats();
    }

    static float dotVector(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(Simd.F);
        int i = 0;
        for (; i + 16 <= n; i += 16) {
            ShortVector h = ShortVector.fromMemorySegment(Simd.S, src, offset + 2L * i, Simd.LE);
            acc = halfToFloat(h).fma(Simd.x(x, xOffset + i), acc);
        }
        float s = Simd.sum(acc);
        for (; i < n; i++) {
            s += Bits.f16(src, offset + 2L * i) * x[xOffset + i];
        }
        return s;
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        for (int i = 0; i < n; i++) {
            Bits.putF16(dst, offset + 2L * i, src[srcOffset + i]);
        }
    }
}
