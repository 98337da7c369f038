package dev.gemma4j.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemma4j.tensor.GgmlType;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/** Row generation: statistics, and the pooled fast path writing exactly the rows {@code row()} defines. */
class SynthWeightsTest {

    @Test
    void normalRowsHaveTheRequestedMeanAndSpread() {
        SynthTensor t = new SynthTensor("w", new long[] {4096, 8}, GgmlType.F32, 0, new SynthTensor.Normal(0.05));
        float[] row = new float[4096];
        double sum = 0;
        double sq = 0;
        for (int r = 0; r < 8; r++) {
            SynthWeights.row(t, 9, r, row);
            for (float x : row) {
                sum += x;
                sq += x * x;
            }
        }
        double n = 8 * 4096;
        assertEquals(0, sum / n, 0.002);
        assertEquals(0.05, Math.sqrt(sq / n - (sum / n) * (sum / n)), 0.002);
    }

    @Test
    void pooledExpertTensorsStreamTheRowsRowDefines() throws Exception {
        // 20 experts x 1024 rows = 20480 source rows: above the pooling threshold
        SynthTensor t = new SynthTensor("blk.0.ffn_down_exps.weight", new long[] {32, 1024, 20}, GgmlType.F32, 0,
            new SynthTensor.Normal(0.1));
        assertTrue(SynthWeights.pooled(t));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            SynthModel.stream(t, 3, pool, 4, out);
        } finally {
            pool.shutdownNow();
        }
        byte[] bytes = out.toByteArray();
        assertEquals(t.bytes(), bytes.length);
        float[] expected = new float[32];
        float[] actual = new float[32];
        Set<String> distinct = new HashSet<>();
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int r = 0; r < 20480; r++) {
            for (int i = 0; i < 32; i++) {
                actual[i] = b.getFloat((r * 32 + i) * 4);
            }
            if (r % 97 == 0) {
                SynthWeights.row(t, 3, r, expected);
                assertArrayEquals(expected, actual, "row " + r);
            }
            distinct.add(java.util.Arrays.toString(actual));
        }
        // rows come from a pool of 4096 distinct rows, and nearly all of the pool is used
        assertTrue(distinct.size() <= SynthWeights.POOL_ROWS && distinct.size() > SynthWeights.POOL_ROWS * 9 / 10,
            "distinct rows " + distinct.size());
        // consecutive rows of one expert differ
        assertFalse(java.util.Arrays.equals(java.util.Arrays.copyOfRange(bytes, 0, 128), java.util.Arrays.copyOfRange(bytes, 128, 256)));
    }
}
