package dev.gemma4j.cpu;

import dev.gemma4j.model.Gemma4Config;

/** Activation buffers of the engine, sized once for the largest batch and layer; reused by every call. */
final class Buffers {
    final int rows;
    /** Residual stream, [rows][D]. */
    final float[] h;
    /** Normed input of the current sub-block, [rows][D]. */
    final float[] normed;
    final float[] q;
    final float[] k;
    final float[] v;
    /** Concatenated attention heads, [rows][heads·headDim]. */
    final float[] attn;
    /** Output of a projection back to D, [rows][D]. */
    final float[] proj;
    final float[] tmp;
    final float[] gate;
    final float[] up;
    final float[] mlp;
    final float[] moe;
    final float[] routerIn;
    final float[] routerProbs;
    final int[] chosenExpert;
    final float[] chosenWeight;
    final int[] expertRowCount;
    final int[] expertRowStart;
    final int[] gatheredRow;
    final float[] gatheredWeight;
    final int[] gatheredExpert;
    final float[] expertIn;
    final float[] expertGateUp;
    final float[] expertUp;
    final float[] expertAct;
    final float[] expertOut;
    /** Per worker: attention scores over the context. */
    final float[][] scores;
    /** Per worker: cos/sin of one row's RoPE angles. */
    final float[][] cos;
    final float[][] sin;

    Buffers(Gemma4Config cfg, int rows, int contextLength, int threads) {
        this.rows = rows;
        int d = cfg.modelWidth();
        int maxQ = 0;
        int maxKv = 0;
        int maxFfn = 0;
        int maxK = 0;
        int maxExpertFfn = 0;
        int maxHead = 0;
        for (Gemma4Config.LayerConfig l : cfg.layers()) {
            maxQ = Math.max(maxQ, l.headCount() * l.headDim());
            maxKv = Math.max(maxKv, l.kvHeadCount() * l.headDim());
            maxFfn = Math.max(maxFfn, l.ffnWidth());
            maxK = Math.max(maxK, l.expertsUsed());
            maxExpertFfn = Math.max(maxExpertFfn, l.expertFfnWidth());
            maxHead = Math.max(maxHead, l.headDim());
        }
        int e = Math.max(cfg.expertCount(), 1);
        h = new float[rows * d];
        normed = new float[rows * d];
        q = new float[rows * maxQ];
        k = new float[rows * maxKv];
        v = new float[rows * maxKv];
        attn = new float[rows * maxQ];
        proj = new float[rows * d];
        tmp = new float[rows * d];
        gate = new float[rows * maxFfn];
        up = new float[rows * maxFfn];
        mlp = new float[rows * d];
        moe = new float[rows * d];
        routerIn = new float[rows * d];
        routerProbs = new float[rows * e];
        chosenExpert = new int[rows * maxK];
        chosenWeight = new float[rows * maxK];
        expertRowCount = new int[e];
        expertRowStart = new int[e + 1];
        int routed = rows * maxK;
        gatheredRow = new int[routed];
        gatheredWeight = new float[routed];
        gatheredExpert = new int[routed];
        expertIn = new float[routed * (maxK > 0 ? d : 0)];
        expertGateUp = new float[routed * 2 * maxExpertFfn];
        expertUp = new float[routed * maxExpertFfn];
        expertAct = new float[routed * maxExpertFfn];
        expertOut = new float[routed * (maxK > 0 ? d : 0)];
        scores = new float[threads][contextLength];
        cos = new float[threads][maxHead / 2];
        sin = new float[threads][maxHead / 2];
    }
}
