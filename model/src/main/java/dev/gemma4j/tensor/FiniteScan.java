package dev.gemma4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Finds stored values that make a tensor's products non-finite, without computing them: in a block-quantized
 * format only the scale fields (f16 {@code d}/{@code dmin}, an E8M0 exponent) can be NaN or infinite, since
 * the quants are small integers and a finite scale times them stays far inside f32; in F32/F16/BF16 every
 * element is checked. A backend that cannot check its products cheaply on the device (TornadoVM) scans its
 * weights with this before uploading them, so a corrupt file fails with the tensor's name instead of
 * producing NaN logits. Formats without a listed scale layout are dequantized block by block.
 */
public final class FiniteScan {
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    private FiniteScan() {
    }

    /**
     * Byte offset (relative to {@code offset}) of the first block or element of {@code bytes} stored bytes
     * whose value is not finite, or -1 when every one is.
     */
    public static long firstNonFinite(GgmlType type, MemorySegment src, long offset, long bytes) {
        return switch (type) {
            case F32 -> scanF32(src, offset, bytes);
            case F16 -> scanHalves(src, offset, bytes, 2, 0, -1, 0x7C00);
            case BF16 -> scanHalves(src, offset, bytes, 2, 0, -1, 0x7F80);
            // f16 d at the start of the block (and the min/dmin right after it where the format has one)
            case Q4_0, Q5_0, Q8_0, IQ4_NL -> scanHalves(src, offset, bytes, type.blockBytes(), 0, -1, 0x7C00);
            case Q4_1, Q5_1, Q4_K, Q5_K -> scanHalves(src, offset, bytes, type.blockBytes(), 0, 2, 0x7C00);
            case IQ4_XS -> scanHalves(src, offset, bytes, type.blockBytes(), 0, -1, 0x7C00);
            // K-quants with the scales first and d (and dmin) at the end of the block
            case Q2_K -> scanHalves(src, offset, bytes, type.blockBytes(), 80, 82, 0x7C00);
            case Q3_K -> scanHalves(src, offset, bytes, type.blockBytes(), 108, -1, 0x7C00);
            case Q6_K -> scanHalves(src, offset, bytes, type.blockBytes(), 208, -1, 0x7C00);
            case MXFP4 -> scanE8m0(src, offset, bytes, type.blockBytes());
            default -> scanByDequantizing(type, src, offset, bytes);
        };
    }

    private static long scanF32(MemorySegment src, long offset, long bytes) {
        for (long b = 0; b + 4 <= bytes; b += 4) {
            // exponent bits all set: infinity or NaN
            if ((src.get(INT_LE, offset + b) & 0x7F800000) == 0x7F800000) {
                return b;
            }
        }
        return -1;
    }

    /** Checks the 16-bit floats at {@code at} (and {@code at2} unless negative) of each block of {@code stride} bytes. */
    private static long scanHalves(MemorySegment src, long offset, long bytes, int stride, int at, int at2, int expMask) {
        for (long b = 0; b + stride <= bytes; b += stride) {
            if ((src.get(SHORT_LE, offset + b + at) & expMask) == expMask
                || at2 >= 0 && (src.get(SHORT_LE, offset + b + at2) & expMask) == expMask) {
                return b;
            }
        }
        return -1;
    }

    /**
     * E8M0 block exponents: with ggml's half-scale decoding the block's largest value, 12 x 2^(e-128), is
     * infinite from e = 0xFD on (and 0xFF is NaN in the OCP microscaling formats).
     */
    private static long scanE8m0(MemorySegment src, long offset, long bytes, int stride) {
        for (long b = 0; b + stride <= bytes; b += stride) {
            if ((src.get(ValueLayout.JAVA_BYTE, offset + b) & 0xFF) >= 0xFD) {
                return b;
            }
        }
        return -1;
    }

    private static long scanByDequantizing(GgmlType type, MemorySegment src, long offset, long bytes) {
        TensorFormat f = TensorFormat.of(type);
        int n = type.blockElements();
        float[] out = new float[n];
        for (long b = 0; b + type.blockBytes() <= bytes; b += type.blockBytes()) {
            f.dequantize(src, offset + b, out, 0, n);
            for (float v : out) {
                if (!Float.isFinite(v)) {
                    return b;
                }
            }
        }
        return -1;
    }
}
