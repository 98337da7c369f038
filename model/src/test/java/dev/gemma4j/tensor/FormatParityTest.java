package dev.gemma4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Our formats against llama.cpp's own code (fixtures from tools/fixtures/make_format_fixtures.py, which
 * calls ggml's dequantize_row_* and quantize_row_*_ref): dequantization is bit-exact, and our quantizers
 * write the same bytes as llama.cpp's reference quantizers (what llama-quantize writes without an
 * importance matrix).
 */
class FormatParityTest {

    /** Segments at an odd offset: rows in a GGUF need no alignment beyond the file's, kernels must not assume it. */
    private static MemorySegment segmentWith(Arena arena, byte[] bytes, int offset) {
        MemorySegment s = arena.allocate(bytes.length + offset + 64);
        MemorySegment.copy(bytes, 0, s, java.lang.foreign.ValueLayout.JAVA_BYTE, offset, bytes.length);
        return s;
    }

    @ParameterizedTest
    @EnumSource(names = {"F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "MXFP4", "Q2_K", "Q3_K",
        "Q4_K", "Q5_K", "Q6_K", "IQ4_XS"})
    void dequantizeMatchesLlamaCppBitForBit(GgmlType type) {
        FormatFixture fx = FormatFixture.load(type);
        TensorFormat f = TensorFormat.of(type);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = segmentWith(arena, fx.randomBytes(), 7);
            float[] y = new float[fx.randomElements() + 5];
            f.dequantize(s, 7, y, 5, fx.randomElements());
            assertBitsEqual(type + " random blocks", fx.randomDequantized(), y, 5);
            if (fx.hasQuantization()) {
                MemorySegment q = segmentWith(arena, fx.quantBytes(), 3);
                float[] yq = new float[fx.quantInput().length];
                f.dequantize(q, 3, yq, 0, yq.length);
                assertBitsEqual(type + " quantized row", fx.quantDequantized(), yq, 0);
            }
        }
    }

    /**
     * The same comparison once the JIT has compiled {@code dequantize} (the vector kernels' compiled code, which the
     * prefill tiles run, is not the interpreter's): every call of a long warm-up must give llama.cpp's values.
     */
    @ParameterizedTest
    @EnumSource(names = {"F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "MXFP4", "Q2_K", "Q3_K",
        "Q4_K", "Q5_K", "Q6_K", "IQ4_XS"})
    void compiledDequantizeMatchesLlamaCppBitForBit(GgmlType type) {
        FormatFixture fx = FormatFixture.load(type);
        TensorFormat f = TensorFormat.of(type);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = segmentWith(arena, fx.randomBytes(), 7);
            float[] y = new float[fx.randomElements() + 5];
            for (int i = 0; i < 20_000; i++) {
                f.dequantize(s, 7, y, 5, fx.randomElements());
            }
            assertBitsEqual(type + " random blocks, compiled", fx.randomDequantized(), y, 5);
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "MXFP4", "Q4_K", "Q6_K"})
    void quantizeWritesLlamaCppReferenceBytes(GgmlType type) {
        FormatFixture fx = FormatFixture.load(type);
        TensorFormat f = TensorFormat.of(type);
        assertTrue(f.canQuantize(), type + " should quantize");
        float[] x = fx.quantInput();
        try (Arena arena = Arena.ofConfined()) {
            long bytes = f.rowBytes(x.length);
            assertEquals(fx.quantBytes().length, bytes);
            MemorySegment dst = arena.allocate(bytes + 11);
            dst.fill((byte) 0x5A); // quantize must write every byte itself
            float[] padded = new float[x.length + 2];
            System.arraycopy(x, 0, padded, 2, x.length);
            f.quantize(padded, 2, x.length, dst, 11);
            byte[] ours = dst.asSlice(11, bytes).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            int bb = type.blockBytes();
            for (int i = 0; i < ours.length; i++) {
                if (ours[i] != fx.quantBytes()[i]) {
                    int block = i / bb;
                    HexFormat hex = HexFormat.of();
                    fail(type + ": quantized byte " + i + " (block " + block + ", byte " + (i % bb) + ") differs:\n ours "
                            + hex.formatHex(ours, block * bb, block * bb + bb) + "\n llama "
                            + hex.formatHex(fx.quantBytes(), block * bb, block * bb + bb));
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "MXFP4", "Q2_K", "Q3_K",
        "Q4_K", "Q5_K", "Q6_K", "IQ4_XS"})
    void dotAgreesWithLlamaCppDequantization(GgmlType type) {
        FormatFixture fx = FormatFixture.load(type);
        TensorFormat f = TensorFormat.of(type);
        Random rnd = new Random(type.id());
        int n = fx.randomElements();
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        double ref = 0;
        double mag = 0;
        float[] w = fx.randomDequantized();
        for (int i = 0; i < n; i++) {
            ref += (double) w[i] * x[i];
            mag += Math.abs((double) w[i] * x[i]);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = segmentWith(arena, fx.randomBytes(), 1);
            float got = f.dot(s, 1, x, 0, n);
            if (Double.isFinite(mag)) {
                assertEquals(ref, got, 1e-5 * mag, type + " dot");
            } else {
                assertTrue(Float.isInfinite(got) || Float.isNaN(got), type + " dot of a row with infinities");
            }
        }
    }

    static void assertBitsEqual(String what, float[] expected, float[] actual, int actualOffset) {
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[actualOffset + i])) {
                fail(what + ": element " + i + " is " + actual[actualOffset + i] + ", llama.cpp gives " + expected[i]);
            }
        }
    }
}
