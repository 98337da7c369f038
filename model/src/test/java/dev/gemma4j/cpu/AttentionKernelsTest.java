package dev.gemma4j.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gemma4j.engine.KvCacheType;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The attention loops over positions ({@link LayerKvCache#dotKeys}, {@link LayerKvCache#addValues}) give
 * bit for bit what the one-position calls they replace give ({@link LayerKvCache#dotKey} per position, then
 * {@link LayerKvCache#addValue} per position in order), for head sizes with and without a scalar tail, spans
 * of positions that are and are not a multiple of four, a ring that wraps, and both cache types: the
 * attention of a row must not change with how its positions are blocked.
 */
class AttentionKernelsTest {

    @ParameterizedTest
    @ValueSource(ints = {256, 512, 40, 13})
    void blockedLoopsEqualOnePositionAtATime(int headDim) {
        Random rnd = new Random(headDim);
        int kvHeads = 2;
        for (KvCacheType type : KvCacheType.values()) {
            for (boolean ring : new boolean[] {false, true}) {
                int capacity = ring ? 11 : 40;
                LayerKvCache cache = new LayerKvCache(capacity, ring, kvHeads, headDim, type);
                int positions = ring ? 30 : 37;
                float[] k = new float[kvHeads * headDim];
                float[] v = new float[kvHeads * headDim];
                for (int p = 0; p < positions; p++) {
                    for (int i = 0; i < k.length; i++) {
                        k[i] = (float) rnd.nextGaussian();
                        v[i] = (float) rnd.nextGaussian();
                    }
                    cache.store(p, k, 0, v, 0);
                }
                float[] q = new float[headDim + 3];
                for (int i = 0; i < q.length; i++) {
                    q[i] = (float) rnd.nextGaussian();
                }
                int last = positions - 1;
                // spans of 1..capacity positions (the ring holds the last `capacity`), so 4-blocks and remainders
                for (int span = 1; span <= Math.min(capacity, positions); span += 3) {
                    int first = last - span + 1;
                    for (int head = 0; head < kvHeads; head++) {
                        String what = type + (ring ? " ring" : "") + ", head dim " + headDim + ", span " + span + ", head " + head;
                        float[] scores = new float[span + 2];
                        cache.dotKeys(first, last, head, q, 3, scores, 2);
                        float[] w = new float[span];
                        for (int p = first; p <= last; p++) {
                            float one = cache.dotKey(p, head, q, 3);
                            assertEquals(Float.floatToRawIntBits(one), Float.floatToRawIntBits(scores[2 + p - first]), what + ", key " + p);
                            w[p - first] = (float) rnd.nextDouble();
                        }
                        float scale = 0.37f;
                        float[] blocked = new float[headDim + 5];
                        float[] single = new float[headDim + 5];
                        for (int i = 0; i < blocked.length; i++) {
                            blocked[i] = single[i] = (float) rnd.nextGaussian();
                        }
                        cache.addValues(first, last, head, w, 0, scale, blocked, 5);
                        for (int p = first; p <= last; p++) {
                            cache.addValue(p, head, w[p - first] * scale, single, 5);
                        }
                        for (int i = 0; i < blocked.length; i++) {
                            assertEquals(Float.floatToRawIntBits(single[i]), Float.floatToRawIntBits(blocked[i]), what + ", value element " + i);
                        }
                    }
                }
            }
        }
    }
}
