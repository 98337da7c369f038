package dev.gemma4j.tensor;

/**
 * The scale searches of ggml's reference K-quant quantizers, with the same float operations in the same
 * order so the chosen levels (and therefore the bytes) are the same as llama-quantize's.
 */
final class KQuants {
    static final float GROUP_MAX_EPS = 1e-15f;

    private KQuants() {
    }

    /**
     * Asymmetric search (make_qkx2_quants): levels 0..nmax for {@code n} values at {@code x[xo..]} with
     * weights; returns the scale, stores −min in {@code theMin[0]} and the levels in {@code levels[lo..]}.
     */
    static float makeQkx2(int n, int nmax, float[] x, int xo, float[] weights, int[] levels, int lo, float[] theMin,
            int[] aux, float rmin, float rdelta, int nstep, boolean useMad) {
        float min = x[xo];
        float max = x[xo];
        float sumW = weights[0];
        float sumX = sumW * x[xo];
        for (int i = 1; i < n; i++) {
            float v = x[xo + i];
            if (v < min) {
                min = v;
            }
            if (v > max) {
                max = v;
            }
            float w = weights[i];
            sumW += w;
            sumX += w * v;
        }
        if (min > 0) {
            min = 0;
        }
        if (max == min) {
            for (int i = 0; i < n; i++) {
                levels[lo + i] = 0;
            }
            theMin[0] = -min;
            return 0.f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++) {
            int l = Bits.nearestInt(iscale * (x[xo + i] - min));
            levels[lo + i] = Math.max(0, Math.min(nmax, l));
            float diff = scale * levels[lo + i] + min - x[xo + i];
            diff = useMad ? Math.abs(diff) : diff * diff;
            bestError += weights[i] * diff;
        }
        if (nstep < 1) {
            theMin[0] = -min;
            return scale;
        }
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0;
            float sumL2 = 0;
            float sumXl = 0;
            for (int i = 0; i < n; i++) {
                int l = Bits.nearestInt(iscale * (x[xo + i] - min));
                l = Math.max(0, Math.min(nmax, l));
                aux[i] = l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXl += w * l * x[xo + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0) {
                float thisScale = (sumW * sumXl - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXl) / det;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXl / sumL2;
                }
                float curError = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * aux[i] + thisMin - x[xo + i];
                    diff = useMad ? Math.abs(diff) : diff * diff;
                    curError += weights[i] * diff;
                }
                if (curError < bestError) {
                    for (int i = 0; i < n; i++) {
                        levels[lo + i] = aux[i];
                    }
                    bestError = curError;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin[0] = -min;
        return scale;
    }

    /**
     * Symmetric search (make_qx_quants) with rmse_type 1 (weights x²) and no importance matrix: levels
     * in 0..2·nmax−1 (offset by nmax) stored at {@code levels[lo..]}; returns the scale.
     */
    static float makeQx(int n, int nmax, float[] x, int xo, int[] levels, int lo) {
        float max = Bits.signedAbsMax(x, xo, n);
        float amax = Math.abs(max);
        if (amax < GROUP_MAX_EPS) {
            for (int i = 0; i < n; i++) {
                levels[lo + i] = 0;
            }
            return 0.f;
        }
        float iscale = -nmax / max;
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; i++) {
            float v = x[xo + i];
            int l = Bits.nearestInt(iscale * v);
            l = Math.max(-nmax, Math.min(nmax - 1, l));
            levels[lo + i] = l + nmax;
            float w = v * v;
            sumlx += w * v * l;
            suml2 += w * l * l;
        }
        float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
        float best = scale * sumlx;
        for (int is = -9; is <= 9; is++) {
            if (is == 0) {
                continue;
            }
            iscale = -(nmax + 0.1f * is) / max;
            sumlx = 0;
            suml2 = 0;
            for (int i = 0; i < n; i++) {
                float v = x[xo + i];
                int l = Bits.nearestInt(iscale * v);
                l = Math.max(-nmax, Math.min(nmax - 1, l));
                float w = v * v;
                sumlx += w * v * l;
                suml2 += w * l * l;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2) {
                for (int i = 0; i < n; i++) {
                    int l = Bits.nearestInt(iscale * x[xo + i]);
                    levels[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
                }
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }
}
