package dev.gemma4j.sampling;

import java.util.SplittableRandom;

/**
 * Picks next tokens from logits according to a {@link SamplerConfig}, remembering the tokens it has seen
 * (prompt and generated, through {@link #accept}) for the penalties. One sampler per sequence; no
 * allocation per token after construction.
 */
public final class Sampler {
    private final SamplerConfig cfg;
    private final SplittableRandom random;
    private final int[] recent;
    private int recentCount;
    private int recentNext;
    private final int[] counts;
    private final int[] ids;
    private final float[] vals;
    private final float[] work;

    public Sampler(SamplerConfig cfg, int vocabSize) {
        this.cfg = cfg;
        this.random = new SplittableRandom(cfg.seed());
        this.recent = new int[Math.max(cfg.penaltyLastN(), 1)];
        this.counts = new int[vocabSize];
        this.ids = new int[vocabSize];
        this.vals = new float[vocabSize];
        this.work = new float[vocabSize];
    }

    public SamplerConfig config() {
        return cfg;
    }

    /** Records a token of the sequence (prompt or generated) for the penalties. */
    public void accept(int token) {
        if (cfg.penaltyLastN() == 0) {
            return;
        }
        recent[recentNext] = token;
        recentNext = (recentNext + 1) % recent.length;
        recentCount = Math.min(recentCount + 1, recent.length);
    }

    /** Chooses the next token; {@code logits} is not modified. */
    public int sample(float[] logits) {
        int n = logits.length;
        float[] l = work;
        System.arraycopy(logits, 0, l, 0, n);
        applyPenalties(l);
        if (cfg.isGreedy()) {
            return argmax(l);
        }
        // candidates, sorted by logit when a truncation needs the order
        int m;
        boolean truncate = cfg.topK() > 0 || cfg.topP() < 1f || cfg.minP() > 0f;
        if (cfg.topK() > 0 && cfg.topK() < n) {
            m = topK(l, cfg.topK());
        } else {
            for (int i = 0; i < n; i++) {
                ids[i] = i;
                vals[i] = l[i];
            }
            m = n;
            if (truncate) {
                sortDescending(m);
            }
        }
        if (cfg.topP() < 1f || cfg.minP() > 0f) {
            // probabilities at temperature 1, as llama.cpp's chain computes them before the temperature
            float max = vals[0];
            double sum = 0;
            for (int i = 0; i < m; i++) {
                sum += Math.exp(vals[i] - max);
            }
            if (cfg.topP() < 1f) {
                double cum = 0;
                int keep = m;
                for (int i = 0; i < m; i++) {
                    cum += Math.exp(vals[i] - max) / sum;
                    if (cum >= cfg.topP()) {
                        keep = i + 1;
                        break;
                    }
                }
                m = keep;
            }
            if (cfg.minP() > 0f) {
                // p_i ≥ minP · p_max  ⇔  logit_i ≥ logit_max + ln(minP)
                double threshold = max + Math.log(cfg.minP());
                int keep = 1;
                while (keep < m && vals[keep] >= threshold) {
                    keep++;
                }
                m = keep;
            }
        }
        float t = cfg.temperature();
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < m; i++) {
            max = Math.max(max, vals[i]);
        }
        double sum = 0;
        for (int i = 0; i < m; i++) {
            double p = Math.exp((vals[i] - max) / t);
            work[i] = (float) p;
            sum += p;
        }
        double u = random.nextDouble() * sum;
        double acc = 0;
        for (int i = 0; i < m; i++) {
            acc += work[i];
            if (u < acc) {
                return ids[i];
            }
        }
        // rounding left u past the float sum: take the last candidate that has weight, never one with none
        // (a logit of -inf, e.g. masked by a grammar constraint)
        for (int i = m - 1; i > 0; i--) {
            if (work[i] > 0f) {
                return ids[i];
            }
        }
        return ids[0];
    }

    private void applyPenalties(float[] l) {
        boolean any = cfg.repeatPenalty() != 1f || cfg.presencePenalty() != 0f || cfg.frequencyPenalty() != 0f;
        if (!any || recentCount == 0) {
            return;
        }
        for (int i = 0; i < recentCount; i++) {
            counts[recent[i]]++;
        }
        for (int i = 0; i < recentCount; i++) {
            int tok = recent[i];
            int c = counts[tok];
            if (c == 0) {
                continue;
            }
            float v = l[tok];
            v = v > 0 ? v / cfg.repeatPenalty() : v * cfg.repeatPenalty();
            v -= c * cfg.frequencyPenalty() + cfg.presencePenalty();
            l[tok] = v;
            counts[tok] = 0;
        }
    }

    private static int argmax(float[] l) {
        int best = 0;
        for (int i = 1; i < l.length; i++) {
            if (l[i] > l[best]) {
                best = i;
            }
        }
        return best;
    }

    /** The k largest logits into ids/vals, sorted descending (ties: lower id first). */
    private int topK(float[] l, int k) {
        // min-heap of size k on (value, -id)
        int size = 0;
        for (int i = 0; i < l.length; i++) {
            float v = l[i];
            if (size < k) {
                ids[size] = i;
                vals[size] = v;
                siftUp(size++);
            } else if (v > vals[0]) {
                ids[0] = i;
                vals[0] = v;
                siftDown(0, size);
            }
        }
        sortDescending(size);
        return size;
    }

    private boolean less(int a, int b) {
        return vals[a] < vals[b] || (vals[a] == vals[b] && ids[a] > ids[b]);
    }

    private void swap(int a, int b) {
        int ti = ids[a];
        ids[a] = ids[b];
        ids[b] = ti;
        float tv = vals[a];
        vals[a] = vals[b];
        vals[b] = tv;
    }

    private void siftUp(int i) {
        while (i > 0) {
            int p = (i - 1) / 2;
            if (!less(i, p)) {
                break;
            }
            swap(i, p);
            i = p;
        }
    }

    private void siftDown(int i, int size) {
        while (true) {
            int c = 2 * i + 1;
            if (c >= size) {
                return;
            }
            if (c + 1 < size && less(c + 1, c)) {
                c++;
            }
            if (!less(c, i)) {
                return;
            }
            swap(i, c);
            i = c;
        }
    }

    /** Heap sort of ids/vals[0..m) by descending value. */
    private void sortDescending(int m) {
        for (int i = m / 2 - 1; i >= 0; i--) {
            siftDown(i, m);
        }
        for (int end = m - 1; end > 0; end--) {
            swap(0, end);
            siftDown(0, end);
        }
    }
}
