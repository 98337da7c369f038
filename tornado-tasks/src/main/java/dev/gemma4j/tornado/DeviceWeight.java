package dev.gemma4j.tornado;

import dev.gemma4j.model.NonFiniteValueException;
import dev.gemma4j.tensor.FiniteScan;
import dev.gemma4j.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/**
 * A weight tensor as the device holds it: its stored bytes, unconverted (F32 tensors as a FloatArray of the
 * same bytes), one buffer per tensor. A 3-D expert tensor is one buffer too: expert {@code e} starts
 * {@code expertStride} bytes (elements for F32) after expert 0, so a kernel can index the chosen expert.
 *
 * @param rowStride    bytes per row (elements for F32)
 * @param expertStride bytes per expert (elements for F32); 0 for a 2-D tensor
 * @param rounding     how llama.cpp rounds the activation dotted with this tensor ({@code Kernels.ROUND_*})
 */
record DeviceWeight(String name, GgmlType type, int fmt, int rows, int cols, int rowStride, int expertStride, int experts,
                    ByteArray bytes, FloatArray floats, int rounding, long byteSize) {

    /** 1-element stand-ins for the unused one of {@code bytes}/{@code floats} (a kernel parameter cannot be null). */
    static final ByteArray NO_BYTES = new ByteArray(1);
    static final FloatArray NO_FLOATS = new FloatArray(1);

    /** Formats with a kernel; everything else fails at load with the tensor's name and type. */
    static int formatCode(String name, GgmlType t) {
        return switch (t) {
            case F32 -> Formats.F32;
            case F16 -> Formats.F16;
            case BF16 -> Formats.BF16;
            case Q8_0 -> Formats.Q8_0;
            case Q4_0 -> Formats.Q4_0;
            case Q5_0 -> Formats.Q5_0;
            case Q4_K -> Formats.Q4_K;
            case Q6_K -> Formats.Q6_K;
            case MXFP4 -> Formats.MXFP4;
            default -> throw new IllegalArgumentException("tensor " + name + " has type " + t
                + ", which the TornadoVM backend does not support (F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q6_K, MXFP4); use --profile cpu");
        };
    }

    /** The activation rounding llama.cpp's CPU backend applies for weights of type {@code t} (as the CPU engine does). */
    static int roundingFor(GgmlType t) {
        return switch (t) {
            case F32 -> Kernels.ROUND_NONE;
            case F16 -> Kernels.ROUND_F16;
            case BF16 -> Kernels.ROUND_BF16;
            case Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, MXFP4 -> Kernels.ROUND_Q8_32;
            default -> Kernels.ROUND_Q8_K;
        };
    }

    /** Bytes the device needs for a tensor of {@code bytes} stored bytes (checked before anything is uploaded). */
    static long deviceBytes(long bytes) {
        return bytes;
    }

    /**
     * Copies a tensor's stored bytes into a TornadoVM array (no conversion). {@code rows} is rows per expert.
     */
    static DeviceWeight upload(String name, GgmlType type, MemorySegment data, int cols, int rows, long rowBytes, int experts) {
        int fmt = formatCode(name, type);
        long expertBytes = rowBytes * rows;
        if (data.byteSize() != expertBytes * Math.max(1, experts)) {
            throw new IllegalArgumentException("tensor " + name + ": " + data.byteSize() + " bytes, expected " + expertBytes * Math.max(1, experts));
        }
        if (data.byteSize() > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("tensor " + name + " has " + data.byteSize()
                + " bytes; a TornadoVM array holds at most 2 GiB (a smaller quantization type is needed)");
        }
        if (fmt != Formats.F32 && fmt != Formats.F16 && fmt != Formats.BF16 && cols % 32 != 0) {
            throw new IllegalArgumentException("tensor " + name + ": row length " + cols + " is not a multiple of 32");
        }
        // the device kernels do not check their products (the CPU engine does), so a corrupt scale is found here,
        // by name, instead of surfacing as NaN logits
        long bad = FiniteScan.firstNonFinite(type, data, 0, data.byteSize());
        if (bad >= 0) {
            throw NonFiniteValueException.stored(name, bad);
        }
        if (fmt == Formats.F32) {
            FloatArray f = FloatArray.fromSegment(data);
            return new DeviceWeight(name, type, fmt, rows, cols, cols, experts > 0 ? cols * rows : 0, experts, NO_BYTES, f,
                roundingFor(type), data.byteSize());
        }
        ByteArray b = ByteArray.fromSegment(data);
        return new DeviceWeight(name, type, fmt, rows, cols, (int) rowBytes, experts > 0 ? (int) expertBytes : 0, experts, b, NO_FLOATS,
            roundingFor(type), data.byteSize());
    }

    /** The array a kernel task must list for transfer (the other one is the shared dummy). */
    Object data() {
        return fmt == Formats.F32 ? floats : bytes;
    }
}
