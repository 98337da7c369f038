package dev.gemma4j.cpu;

import static dev.gemma4j.cpu.VectorMath.axpy;
import static dev.gemma4j.cpu.VectorMath.geglu;
import static dev.gemma4j.cpu.VectorMath.rmsNorm;

import dev.gemma4j.model.Gemma4Config;
import dev.gemma4j.model.Gemma4Config.LayerConfig;
import dev.gemma4j.model.Gemma4Math;
import dev.gemma4j.model.Gemma4Weights;

/**
 * One Gemma 4 decoder layer (spec §3.3 with §8.1) over a batch of rows: attention with Q/K norms, NEOX
 * RoPE and GQA over the session's KV cache; the dense GELU MLP; the router and the experts it picks, run
 * once per active expert over the rows that chose it; the post-norms and the layer output scale.
 * Every weight product goes through {@link MatMul}, whatever the stored format.
 */
final class DecoderLayer {
    private final int index;
    private final LayerConfig lc;
    private final Gemma4Weights.Layer w;
    private final int d;
    private final float eps;
    private final int slidingWindow;
    private final int expertCount;
    private final float routerInputScale;
    /** RoPE angle per position unit for pair i; 0 for pairs that do not rotate. */
    private final double[] ropeInvFreq;
    private final WorkerPool pool;
    private final MatMul mm;
    private final Buffers s;

    private Batch batch;
    private final WorkerPool.Body qkvBody = this::normRopeStore;
    private final WorkerPool.Body attentionBody = this::attendHead;

    DecoderLayer(int index, Gemma4Config cfg, Gemma4Weights.Layer w, float[] ropeFreqs, WorkerPool pool, MatMul mm, Buffers s) {
        this.index = index;
        this.lc = cfg.layer(index);
        this.w = w;
        this.d = cfg.modelWidth();
        this.eps = cfg.rmsEps();
        this.slidingWindow = cfg.slidingWindow();
        this.expertCount = cfg.expertCount();
        this.routerInputScale = Gemma4Math.routerInputScale(cfg);
        this.pool = pool;
        this.mm = mm;
        this.s = s;
        this.ropeInvFreq = Gemma4Math.ropeInverseFrequencies(lc, ropeFreqs);
    }

    /** Runs the layer on {@code b.size} rows of {@code s.h} in place, storing their K/V in their sessions' caches. */
    void forward(Batch b) {
        int n = b.size;
        this.batch = b;
        try {
            attention(n);
            float[] ffnOut = feedForward(n);
            float scale = w.layerOutputScale();
            for (int r = 0; r < n; r++) {
                int o = r * d;
                for (int i = 0; i < d; i++) {
                    s.h[o + i] = (s.h[o + i] + ffnOut[o + i]) * scale;
                }
            }
        } finally {
            this.batch = null;
        }
    }

    // ---------------------------------------------------------------- attention

    private void attention(int n) {
        int qw = lc.headCount() * lc.headDim();
        int kvw = lc.kvHeadCount() * lc.headDim();
        for (int r = 0; r < n; r++) {
            rmsNorm(s.h, r * d, w.attnNorm(), eps, s.normed, r * d, d);
        }
        mm.add(w.wq(), s.normed, 0, n, s.q, 0, qw).add(w.wk(), s.normed, 0, n, s.k, 0, kvw);
        if (w.wv() != null) {
            mm.add(w.wv(), s.normed, 0, n, s.v, 0, kvw);
        }
        mm.run();
        if (w.wv() == null) {
            // No V projection: V is the raw K projection (before K's norm and RoPE), spec §8.1.
            System.arraycopy(s.k, 0, s.v, 0, n * kvw);
        }
        if (StepProfile.ENABLED) {
            StepProfile.start();
            pool.forEach(n, qkvBody);
            StepProfile.stop(StepProfile.Part.QK_NORM_ROPE, 0);
            StepProfile.start();
            pool.forEach(n * lc.headCount(), attentionBody);
            StepProfile.stop(StepProfile.Part.ATTENTION, 0);
        } else {
            pool.forEach(n, qkvBody);
            pool.forEach(n * lc.headCount(), attentionBody);
        }
        mm.add(w.wo(), s.attn, 0, n, s.proj, 0, d).run();
        for (int r = 0; r < n; r++) {
            rmsNorm(s.proj, r * d, w.postAttnNorm(), eps, s.tmp, r * d, d);
            axpy(1f, s.tmp, r * d, s.h, r * d, d);
        }
    }

    /** Row r: per-head Q/K norms, RoPE, the unweighted V norm, and the K/V store into the session's cache. */
    private void normRopeStore(int r, int worker) {
        int hd = lc.headDim();
        int qw = lc.headCount() * hd;
        int kvw = lc.kvHeadCount() * hd;
        int pos = batch.positions[r];
        float[] cos = s.cos[worker];
        float[] sin = s.sin[worker];
        for (int i = 0; i < ropeInvFreq.length; i++) {
            double th = pos * ropeInvFreq[i];
            cos[i] = (float) Math.cos(th);
            sin[i] = (float) Math.sin(th);
        }
        for (int j = 0; j < lc.headCount(); j++) {
            int o = r * qw + j * hd;
            rmsNorm(s.q, o, w.qNorm(), eps, s.q, o, hd);
            rope(s.q, o, cos, sin);
        }
        for (int t = 0; t < lc.kvHeadCount(); t++) {
            int o = r * kvw + t * hd;
            rmsNorm(s.k, o, w.kNorm(), eps, s.k, o, hd);
            rope(s.k, o, cos, sin);
            rmsNorm(s.v, o, null, eps, s.v, o, hd);
        }
        batch.sessions[r].caches[index].store(pos, s.k, r * kvw, s.v, r * kvw);
    }

    /** NEOX rotation of the pairs (i, i + ropeDims/2). */
    private void rope(float[] x, int o, float[] cos, float[] sin) {
        int half = ropeInvFreq.length;
        for (int i = 0; i < half; i++) {
            if (ropeInvFreq[i] == 0.0) {
                continue;
            }
            float a = x[o + i];
            float b = x[o + i + half];
            x[o + i] = a * cos[i] - b * sin[i];
            x[o + i + half] = a * sin[i] + b * cos[i];
        }
    }

    /**
     * Task (query head, row): softmax(q·Kᵀ) (scale 1) over the visible positions, times V. Head-major, so that
     * consecutive tasks read the same head's keys and values (mostly the same positions) while they are still
     * in cache (a 512-token prefill: attention 5.9 -> 5.4 ms per token by CPU time against row-major tasks).
     */
    private void attendHead(int task, int worker) {
        int j = task / batch.size;
        int r = task % batch.size;
        int hd = lc.headDim();
        int qo = r * lc.headCount() * hd + j * hd;
        int kvHead = j / lc.groupSize();
        int pos = batch.positions[r];
        int first = Gemma4Math.firstVisiblePosition(lc, slidingWindow, pos);
        LayerKvCache cache = batch.sessions[r].caches[index];
        float[] sc = s.scores[worker];
        int count = pos - first + 1;
        cache.dotKeys(first, pos, kvHead, s.q, qo, sc, 0);
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < count; i++) {
            max = Math.max(max, sc[i]);
        }
        float sum = 0;
        for (int i = 0; i < count; i++) {
            float e = (float) Math.exp(sc[i] - max);
            sc[i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        java.util.Arrays.fill(s.attn, qo, qo + hd, 0f);
        cache.addValues(first, pos, kvHead, sc, 0, inv, s.attn, qo);
    }

    // ---------------------------------------------------------------- feed-forward

    /** Returns the buffer holding f, the normed FFN output to add to the residual. */
    private float[] feedForward(int n) {
        int f = lc.ffnWidth();
        for (int r = 0; r < n; r++) {
            rmsNorm(s.h, r * d, w.ffnNorm(), eps, s.normed, r * d, d);
        }
        mm.add(w.ffnGate(), s.normed, 0, n, s.gate, 0, f).add(w.ffnUp(), s.normed, 0, n, s.up, 0, f).run();
        geglu(s.gate, 0, s.up, 0, s.gate, 0, n * f);
        mm.add(w.ffnDown(), s.gate, 0, n, s.mlp, 0, d).run();
        if (!w.hasExperts()) {
            for (int r = 0; r < n; r++) {
                rmsNorm(s.mlp, r * d, w.postFfwNorm(), eps, s.tmp, r * d, d);
            }
            return s.tmp;
        }
        for (int r = 0; r < n; r++) {
            rmsNorm(s.mlp, r * d, w.postFfwNorm1(), eps, s.mlp, r * d, d);
        }
        route(n);
        experts(n);
        for (int r = 0; r < n; r++) {
            rmsNorm(s.moe, r * d, w.postFfwNorm2(), eps, s.moe, r * d, d);
            axpy(1f, s.mlp, r * d, s.moe, r * d, d);
            rmsNorm(s.moe, r * d, w.postFfwNorm(), eps, s.tmp, r * d, d);
        }
        return s.tmp;
    }

    /** Router: unweighted norm of the residual · 1/√D ⊙ scale, softmax over all experts, top-k, renormalise. */
    private void route(int n) {
        float invSqrtD = routerInputScale;
        float[] scale = w.routerScale();
        for (int r = 0; r < n; r++) {
            int o = r * d;
            rmsNorm(s.h, o, null, eps, s.routerIn, o, d);
            for (int i = 0; i < d; i++) {
                s.routerIn[o + i] = (s.routerIn[o + i] * invSqrtD) * scale[i];
            }
        }
        int ne = expertCount;
        mm.add(w.router(), s.routerIn, 0, n, s.routerProbs, 0, ne).run();
        int k = lc.expertsUsed();
        for (int r = 0; r < n; r++) {
            int po = r * ne;
            VectorMath.softmax(s.routerProbs, po, ne);
            Gemma4Math.selectExperts(s.routerProbs, po, ne, k, s.chosenExpert, s.chosenWeight, r * k);
        }
    }

    /**
     * The chosen experts' MLPs, grouped: the rows that chose expert e are gathered into one block and
     * expert e runs once over it; results are scaled and summed back into each row's {@code moe}.
     */
    private void experts(int n) {
        int k = lc.expertsUsed();
        int fe = lc.expertFfnWidth();
        int ne = expertCount;
        java.util.Arrays.fill(s.expertRowCount, 0, ne, 0);
        for (int i = 0; i < n * k; i++) {
            s.expertRowCount[s.chosenExpert[i]]++;
        }
        s.expertRowStart[0] = 0;
        for (int e = 0; e < ne; e++) {
            s.expertRowStart[e + 1] = s.expertRowStart[e] + s.expertRowCount[e];
        }
        java.util.Arrays.fill(s.expertRowCount, 0, ne, 0);
        for (int r = 0; r < n; r++) {
            rmsNorm(s.h, r * d, w.preFfwNorm2(), eps, s.normed, r * d, d);
        }
        for (int r = 0; r < n; r++) {
            for (int t = 0; t < k; t++) {
                int e = s.chosenExpert[r * k + t];
                int g = s.expertRowStart[e] + s.expertRowCount[e]++;
                s.gatheredRow[g] = r;
                s.gatheredWeight[g] = s.chosenWeight[r * k + t];
                s.gatheredExpert[g] = e;
                System.arraycopy(s.normed, r * d, s.expertIn, g * d, d);
            }
        }
        boolean merged = w.expertGateUp() != null;
        for (int e = 0; e < ne; e++) {
            int rows = s.expertRowCount[e];
            int g0 = s.expertRowStart[e];
            if (merged) {
                mm.add(w.expertGateUp().expert(e), s.expertIn, g0 * d, rows, s.expertGateUp, g0 * 2 * fe, 2 * fe);
            } else {
                mm.add(w.expertGate().expert(e), s.expertIn, g0 * d, rows, s.expertGateUp, g0 * fe, fe);
                mm.add(w.expertUp().expert(e), s.expertIn, g0 * d, rows, s.expertUp, g0 * fe, fe);
            }
        }
        mm.run();
        int total = n * k;
        for (int g = 0; g < total; g++) {
            if (merged) {
                // gate = rows [0, fe) of the merged projection, up = rows [fe, 2·fe)
                geglu(s.expertGateUp, g * 2 * fe, s.expertGateUp, g * 2 * fe + fe, s.expertAct, g * fe, fe);
            } else {
                geglu(s.expertGateUp, g * fe, s.expertUp, g * fe, s.expertAct, g * fe, fe);
            }
        }
        for (int e = 0; e < ne; e++) {
            int rows = s.expertRowCount[e];
            int g0 = s.expertRowStart[e];
            mm.add(w.expertDown().expert(e), s.expertAct, g0 * fe, rows, s.expertOut, g0 * d, d);
        }
        mm.run();
        java.util.Arrays.fill(s.moe, 0, n * d, 0f);
        float[] downScale = w.expertDownScale();
        for (int g = 0; g < total; g++) {
            int go = g * d;
            if (downScale != null) {
                float sc = downScale[s.gatheredExpert[g]];
                for (int i = 0; i < d; i++) {
                    s.expertOut[go + i] *= sc;
                }
            }
            axpy(s.gatheredWeight[g], s.expertOut, go, s.moe, s.gatheredRow[g] * d, d);
        }
    }

}
