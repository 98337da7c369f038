package dev.gemma4j.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import uk.ac.manchester.tornado.api.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.arrays.ShortArray;

/**
 * The f16 KV cache's conversions on the device against Java's own: {@link Kernels#kvStoreF16} (the store
 * kernel the forward pass runs) must write exactly {@code Float.floatToFloat16} of every K and V value and
 * round the query to exactly {@code float16ToFloat(floatToFloat16(q))}; {@link Formats#fromF16} (what the
 * attention kernel reads the cache with) must give {@code Float.float16ToFloat} of all 65536 codes. Values:
 * random bit patterns over every exponent, and the edges: ±0, float and half subnormals, ties to even
 * (half-way between two halves, normal and subnormal), the overflow threshold 65520, ±∞ and NaN.
 * Bit-identical everywhere except NaN payloads (TornadoVM 5.2 cannot read a float's bits on the device, so a
 * NaN is stored as the quiet NaN 0x7E00): a NaN must stay a NaN.
 */
class F16KvConversionTest {

    /** Half bits of all codes decoded on the device; the helper the attention kernel inlines. */
    static void decodeAll(ShortArray codes, FloatArray out, FloatArray pow2, int n) {
        for (@Parallel int i = 0; i < n; i++) {
            out.set(i, Formats.fromF16(codes.get(i), pow2));
        }
    }

    /**
     * The same two methods run as plain Java over every 97th float bit pattern (44 million values, all
     * exponents and signs; all 2^32 agree too, but take a minute): what TornadoVM compiles is this code.
     */
    @Test
    void theConversionsAgreeWithJavaOnTheHost() {
        FloatArray pow2 = Formats.pow2Table();
        for (long i = 0; i <= 0xFFFFFFFFL; i += 97) {
            float x = Float.intBitsToFloat((int) i);
            int got = Formats.toF16(x);
            if (Float.isNaN(x)) {
                assertEquals(0x7E00, got, "NaN 0x" + Long.toHexString(i));
            } else if ((Float.floatToFloat16(x) & 0xFFFF) != got) {
                assertEquals(Float.floatToFloat16(x) & 0xFFFF, got, "0x" + Long.toHexString(i) + " = " + x);
            }
        }
        for (int h = 0; h < 65536; h++) {
            float want = Float.float16ToFloat((short) h);
            float got = Formats.fromF16((short) h, pow2);
            assertTrue(Float.isNaN(want) ? Float.isNaN(got) : Float.floatToRawIntBits(want) == Float.floatToRawIntBits(got), "code 0x" + Integer.toHexString(h));
        }
    }

    static List<Float> values() {
        List<Float> v = new ArrayList<>();
        float[] edges = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, 1e-40f, -1e-39f,
            0x1.0p-24f, 0x1.0p-25f, 0x1.000002p-25f, 0x1.8p-24f, 0x1.4p-24f, 0x1.cp-24f, 0x1.0p-14f, 0x1.ff8p-15f, 0x1.ffcp-15f,
            0x1.ffep-15f, 65504f, 65519.996f, 65520f, -65520f, 65535f, 1e10f, Float.MAX_VALUE, -Float.MAX_VALUE,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1f, -1f, 1.00048828125f, 1.00146484375f, 2049f, 2051f, -2049f,
            0.1f, -0.3f, 3.14159f, 1000.5f, Float.NaN, Float.intBitsToFloat(0xFFC00001), Float.intBitsToFloat(0x7F800001),
            Float.intBitsToFloat(0x7FBFFFFF)};
        for (float f : edges) {
            v.add(f);
        }
        // ties: half-way between consecutive halves (even and odd lower neighbours), normal and subnormal
        for (int h : new int[] {0x0001, 0x0002, 0x0003, 0x03FE, 0x03FF, 0x0400, 0x0401, 0x3C00, 0x3C01, 0x57FF, 0x7BFE}) {
            float lo = Float.float16ToFloat((short) h);
            float hi = Float.float16ToFloat((short) (h + 1));
            float mid = (lo + hi) / 2f;
            v.add(mid);
            v.add(-mid);
            v.add(Math.nextUp(mid));
            v.add(Math.nextDown(mid));
        }
        Random rnd = new Random(16);
        for (int i = 0; i < 6000; i++) {
            // exponents from far below half's subnormals to far above its range
            int bits = rnd.nextInt();
            int exp = 127 - 30 + rnd.nextInt(50);
            v.add(Float.intBitsToFloat((bits & 0x807FFFFF) | (exp << 23)));
        }
        for (int i = 0; i < 2000; i++) {
            v.add(Float.intBitsToFloat(rnd.nextInt())); // anything, NaNs and subnormals included
        }
        for (int i = 0; i < 2000; i++) {
            v.add((float) rnd.nextGaussian() * 4f); // the values a cache holds
        }
        return v;
    }

    static void check(float x, short got, String what) {
        short want = Float.floatToFloat16(x);
        if (Float.isNaN(x)) {
            assertTrue(Float.isNaN(Float.float16ToFloat(got)), what + ": NaN must stay NaN, got 0x" + Integer.toHexString(got & 0xFFFF));
        } else {
            assertEquals(want & 0xFFFF, got & 0xFFFF, what + " of " + x + " (0x" + Integer.toHexString(Float.floatToRawIntBits(x)) + ")");
        }
    }

    @Test
    void theDeviceStoresAndReadsHalvesExactlyAsJava() {
        List<Float> vals = values();
        // one row of the store kernel: qWidth query values, kvWidth K values, kvWidth V values
        int kvWidth = vals.size();
        int qWidth = kvWidth;
        int capacity = 3;
        int slot = 1;
        int pos = 7; // cache row slot·capacity + pos % capacity = 4
        int row = slot * capacity + pos % capacity;
        FloatArray q = new FloatArray(qWidth);
        FloatArray kStage = new FloatArray(kvWidth);
        FloatArray vStage = new FloatArray(kvWidth);
        float[] qIn = new float[qWidth];
        float[] kIn = new float[kvWidth];
        float[] vIn = new float[kvWidth];
        // every value goes through all three paths (V in reverse order)
        for (int i = 0; i < kvWidth; i++) {
            qIn[i] = vals.get(i);
            kIn[i] = vals.get(i);
            vIn[i] = vals.get(kvWidth - 1 - i);
            q.set(i, qIn[i]);
            kStage.set(i, kIn[i]);
            vStage.set(i, vIn[i]);
        }
        ShortArray kCache = new ShortArray(2 * capacity * kvWidth);
        ShortArray vCache = new ShortArray(2 * capacity * kvWidth);
        IntArray positions = IntArray.fromElements(pos);
        IntArray slots = IntArray.fromElements(slot);
        IntArray nrows = IntArray.fromElements(1);
        FloatArray pow2 = Formats.pow2Table();
        ShortArray codes = new ShortArray(65536);
        for (int h = 0; h < 65536; h++) {
            codes.set(h, (short) h);
        }
        FloatArray decoded = new FloatArray(65536);
        TaskGraph g = new TaskGraph("f16")
            .transferToDevice(DataTransferMode.EVERY_EXECUTION, q, kStage, vStage, kCache, vCache, positions, slots, nrows, pow2, codes)
            .task("kvStoreF16", Kernels::kvStoreF16, q, kStage, vStage, kCache, vCache, positions, slots, nrows, pow2, qWidth, kvWidth, capacity, 1)
            .task("decode", F16KvConversionTest::decodeAll, codes, decoded, pow2, 65536)
            .transferToHost(DataTransferMode.EVERY_EXECUTION, q, kCache, vCache, decoded);
        ImmutableTaskGraph itg = g.snapshot();
        try (TornadoExecutionPlan plan = new TornadoExecutionPlan(itg)) {
            plan.withCompilerFlags(TornadoVMBackendType.OPENCL, "-w").execute();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        int nans = 0;
        for (int i = 0; i < kvWidth; i++) {
            check(kIn[i], kCache.get(row * kvWidth + i), "K " + i);
            check(vIn[i], vCache.get(row * kvWidth + i), "V " + i);
            nans += Float.isNaN(kIn[i]) ? 1 : 0;
        }
        for (int i = 0; i < qWidth; i++) {
            float want = Float.float16ToFloat(Float.floatToFloat16(qIn[i]));
            if (Float.isNaN(want)) {
                assertTrue(Float.isNaN(q.get(i)), "query " + i + " NaN");
            } else {
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(q.get(i)), "query " + i + " (" + qIn[i] + ") rounded to f16");
            }
        }
        for (int h = 0; h < 65536; h++) {
            float want = Float.float16ToFloat((short) h);
            float got = decoded.get(h);
            if (Float.isNaN(want)) {
                assertTrue(Float.isNaN(got), "code 0x" + Integer.toHexString(h) + " decodes to a NaN, got " + got);
            } else {
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got), "code 0x" + Integer.toHexString(h));
            }
        }
        assertTrue(nans >= 4, "NaNs went through the store");
    }
}
