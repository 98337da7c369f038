package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;

/** F32: four little-endian bytes per element. */
final class F32Format implements TensorFormat {
    static final ValueLayout.OfFloat LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Override
    public GgmlType type() {
        return GgmlType.F32;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        MemorySegment.copy(src, LE, offset, dst, dstOffset, n);
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        return Simd.ENABLED ? dotVector(src, offset, x, xOffset, n)
                : Simd.VECTOR ? dotGeneric(src, offset, x, xOffset, n) : dotScalar(src, offset, x, xOffset, n);
    }

    /** Any width ({@link Simd#V}): two accumulators, then the tail in scalar code. */
    static float dotGeneric(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector a0 = FloatVector.zero(Simd.V);
        FloatVector a1 = FloatVector.zero(Simd.V);
        int step = Simd.VL;
        int i = 0;
        for (; i + 2 * step <= n; i += 2 * step) {
            a0 = FloatVector.fromMemorySegment(Simd.V, src, offset + 4L * i, Simd.LE).fma(FloatVector.fromArray(Simd.V, x, xOffset + i), a0);
            a1 = FloatVector.fromMemorySegment(Simd.V, src, offset + 4L * i + 4L * step, Simd.LE)
                    .fma(FloatVector.fromArray(Simd.V, x, xOffset + i + step), a1);
        }
        float s = Simd.sum(a0.add(a1));
        for (; i < n; i++) {
            s += src.get(LE, offset + 4L * i) * x[xOffset + i];
        }
        return s;
    }

    static float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) {
            s += src.get(LE, offset + 4L * i) * x[xOffset + i];
        }
        return s;
    }

    static float dotVector(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector a0 = FloatVector.zero(Simd.F);
        FloatVector a1 = FloatVector.zero(Simd.F);
        int i = 0;
        for (; i + 32 <= n; i += 32) {
            FloatVector w0 = FloatVector.fromMemorySegment(Simd.F, src, offset + 4L * i, Simd.LE);
            FloatVector w1 = FloatVector.fromMemorySegment(Simd.F, src, offset + 4L * i + 64, Simd.LE);
            a0 = w0.fma(Simd.x(x, xOffset + i), a0);
            a1 = w1.fma(Simd.x(x, xOffset + i + 16), a1);
        }
        float s = Simd.sum(a0.add(a1));
        for (; i < n; i++) {
            s += src.get(LE, offset + 4L * i) * x[xOffset + i];
        }
        return s;
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        MemorySegment.copy(src, srcOffset, dst, LE, offset, n);
    }
}
