package dev.gemma4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The shared router rules: llama.cpp's top-k (ties to the lower id) and renormalisation, and NaN safety. */
class Gemma4MathTest {

    @Test
    void topKPicksTheLargestWithTiesToTheLowerIdAndRenormalises() {
        float[] p = {0.1f, 0.3f, 0.05f, 0.3f, 0.25f};
        int[] ids = new int[3];
        float[] w = new float[3];
        Gemma4Math.selectExperts(p, 0, 5, 3, ids, w, 0);
        assertArrayEquals(new int[] {1, 3, 4}, ids);
        assertEquals(0.3f / 0.85f, w[0], 1e-7);
        assertEquals(0.25f / 0.85f, w[2], 1e-7);
    }

    @Test
    void tinyProbabilitiesAreDividedByTheLowerBound() {
        float[] p = {1e-9f, 2e-9f, 0f};
        int[] ids = new int[2];
        float[] w = new float[2];
        Gemma4Math.selectExperts(p, 0, 3, 2, ids, w, 0);
        assertArrayEquals(new int[] {1, 0}, ids);
        assertEquals(2e-9f / Gemma4Math.MIN_EXPERT_WEIGHT_SUM, w[0], 1e-12);
    }

    @Test
    void nanScoresRankLastAndIdsStayValidAndDistinct() {
        float nan = Float.NaN;
        int[] ids = new int[3];
        float[] w = new float[3];
        Gemma4Math.selectExperts(new float[] {nan, 0.2f, nan, 0.1f}, 0, 4, 3, ids, w, 0);
        assertArrayEquals(new int[] {1, 3, 0}, ids);
        Gemma4Math.selectExperts(new float[] {nan, nan, nan, nan}, 0, 4, 3, ids, w, 0);
        assertArrayEquals(new int[] {0, 1, 2}, ids);
    }
}
