package dev.gemma4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FiniteScan} finds exactly the blocks whose dequantization (bit-exact with llama.cpp's, see
 * FormatParityTest) holds a non-finite value, on llama.cpp's random valid blocks and on copies with random
 * bytes written into them.
 */
class FiniteScanTest {

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "IQ4_NL",
        "MXFP4", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_XS"})
    void findsTheFirstBlockWhoseValuesAreNotFinite(GgmlType type) {
        Random rnd = new Random(type.ordinal());
        byte[] sound = type == GgmlType.F32 ? randomFloats(rnd, 256) : FormatFixture.load(type).randomBytes();
        int stride = type.blockBytes();
        int blocks = sound.length / stride;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(sound.length);
            MemorySegment.copy(sound, 0, seg, ValueLayout.JAVA_BYTE, 0, sound.length);
            assertEquals(firstNonFiniteByDequantizing(type, seg, blocks), FiniteScan.firstNonFinite(type, seg, 0, seg.byteSize()),
                "llama.cpp's random blocks");
            int found = 0;
            for (int trial = 0; trial < 400; trial++) {
                MemorySegment.copy(sound, 0, seg, ValueLayout.JAVA_BYTE, 0, sound.length);
                int block = rnd.nextInt(blocks);
                // half the trials a few random bytes, half a whole block of random bytes
                int spans = trial % 2 == 0 ? 1 + rnd.nextInt(3) : Math.min(Math.max(stride, 64), sound.length - block * stride);
                for (int s = 0; s < spans; s++) {
                    int at = trial % 2 == 0 ? rnd.nextInt(stride) : s;
                    seg.set(ValueLayout.JAVA_BYTE, (long) block * stride + at, (byte) rnd.nextInt(256));
                }
                long expected = firstNonFiniteByDequantizing(type, seg, blocks);
                assertEquals(expected, FiniteScan.firstNonFinite(type, seg, 0, seg.byteSize()), "trial " + trial);
                if (expected >= 0) {
                    found++;
                }
            }
            assertTrue(found > 0, "some corruptions must produce non-finite values");
        }
    }

    private static byte[] randomFloats(Random rnd, int n) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * n).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putFloat((float) rnd.nextGaussian());
        }
        return b.array();
    }

    /** The reference: dequantize every block; for MXFP4 also a block exponent whose largest value overflows. */
    private static long firstNonFiniteByDequantizing(GgmlType type, MemorySegment seg, int blocks) {
        TensorFormat f = TensorFormat.of(type);
        int n = type.blockElements();
        float[] out = new float[n];
        for (int b = 0; b < blocks; b++) {
            long off = (long) b * type.blockBytes();
            f.dequantize(seg, off, out, 0, n);
            for (float v : out) {
                if (!Float.isFinite(v)) {
                    return off;
                }
            }
            if (type == GgmlType.MXFP4 && Float.isInfinite(12f * Bits.e8m0Half(seg.get(ValueLayout.JAVA_BYTE, off) & 0xFF))) {
                return off;
            }
        }
        return -1;
    }
}
