package dev.gemma4j.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.ByteArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.arrays.ShortArray;

/**
 * The kernels of the Gemma 4 forward pass (spec §3), as plain static methods that TornadoVM compiles for
 * OpenCL, PTX or SPIR-V. Every kernel works on a batch of up to {@code B} rows (a prefill chunk, or one row
 * per session of a decoding step); the number of live rows, positions, session slots and chosen experts are
 * read from device arrays, because TornadoVM specialises a kernel on the scalar values it was compiled with.
 * Scalars are therefore only shapes and per-layer constants.
 * <p>
 * Portability (notes/tornadovm.md): reductions are KernelContext tree reductions in local memory with
 * barriers (not {@code @Reduce}, not {@code simdSum}); no atomics; no cross-work-group communication inside a
 * kernel (split attention combines its partial results in a second kernel); every buffer index stays
 * inside the buffer.
 */
final class Kernels {
    /** Activation rounding before a dot product with weights of a given type (llama.cpp's CPU path, spec §8.3). */
    static final int ROUND_NONE = 0;
    static final int ROUND_F16 = 1;
    static final int ROUND_BF16 = 2;
    static final int ROUND_Q8_32 = 3;
    static final int ROUND_Q8_K = 4;

    /** Flags of {@link #matvec}. */
    static final int MV_EXPERT = 1;
    static final int MV_X_PER_SLOT = 2;
    static final int MV_SCALE = 4;

    /** Below any score; used instead of −∞, which fast-math compiler flags may not keep. */
    static final float NEG_BIG = -3.0e38f;

    private Kernels() {
    }

    // ------------------------------------------------------------------ reductions

    /** Tree sum of {@code v} over the work-group (ls a power of two); every thread gets the result. */
    static float groupSum(KernelContext ctx, float[] scratch, float v, int ls) {
        int t = ctx.localIdx;
        scratch[t] = v;
        ctx.localBarrier();
        for (int stride = ls / 2; stride > 0; stride >>= 1) {
            if (t < stride) {
                scratch[t] += scratch[t + stride];
            }
            ctx.localBarrier();
        }
        float r = scratch[0];
        ctx.localBarrier();
        return r;
    }

    /** Tree max over the work-group. */
    static float groupMax(KernelContext ctx, float[] scratch, float v, int ls) {
        int t = ctx.localIdx;
        scratch[t] = v;
        ctx.localBarrier();
        for (int stride = ls / 2; stride > 0; stride >>= 1) {
            if (t < stride) {
                scratch[t] = Math.max(scratch[t], scratch[t + stride]);
            }
            ctx.localBarrier();
        }
        float r = scratch[0];
        ctx.localBarrier();
        return r;
    }

    // ------------------------------------------------------------------ embedding

    /** embed: {@code h[b] = token_embd[tokens[b]] · scale} (one row dequantized). */
    static void embed(ByteArray w, FloatArray wf, FloatArray h, IntArray tokens, IntArray nrows, FloatArray pow2,
                      int fmt, int rowBytes, int d, int batch, float scale) {
        for (@Parallel int g = 0; g < batch * d; g++) {
            int b = g / d;
            int i = g - b * d;
            if (b < nrows.get(0)) {
                int base = tokens.get(b) * rowBytes;
                float v = 0f;
                if (fmt == Formats.F32) {
                    v = wf.get(base + i);
                } else if (fmt == Formats.F16) {
                    v = Formats.f16(w, base + 2 * i, pow2);
                } else if (fmt == Formats.BF16) {
                    v = Formats.bf16(w, base + 2 * i, pow2);
                } else if (fmt == Formats.Q8_0) {
                    int p = base + (i >> 5) * 34;
                    v = Formats.f16(w, p, pow2) * w.get(p + 2 + (i & 31));
                } else if (fmt == Formats.Q4_0) {
                    v = Formats.elementQ4_0(w, base + (i >> 5) * 18, i & 31, pow2);
                } else if (fmt == Formats.Q5_0) {
                    v = Formats.elementQ5_0(w, base + (i >> 5) * 22, i & 31, pow2);
                } else if (fmt == Formats.MXFP4) {
                    v = Formats.elementMxfp4(w, base + (i >> 5) * 17, i & 31, pow2);
                } else if (fmt == Formats.Q4_K) {
                    v = Formats.elementQ4K(w, base + (i >> 8) * 144, i & 255, pow2);
                } else if (fmt == Formats.Q6_K) {
                    v = Formats.elementQ6K(w, base + (i >> 8) * 210, i & 255, pow2);
                }
                h.set(g, v * scale);
            }
        }
    }

    // ------------------------------------------------------------------ norms

    /** attnNorm / output_norm: {@code out[b] = rmsnorm(x[b]) ⊙ w}, one work-group per row. */
    static void rmsNorm(KernelContext ctx, FloatArray x, FloatArray w, FloatArray out, IntArray nrows, int n, float eps, int ls) {
        float[] scratch = ctx.allocateFloatLocalArray(ls);
        int b = ctx.groupIdx;
        int t = ctx.localIdx;
        if (b >= nrows.get(0)) {
            return;
        }
        int o = b * n;
        float ss = 0f;
        for (int i = t; i < n; i += ls) {
            float v = x.get(o + i);
            ss += v * v;
        }
        ss = groupSum(ctx, scratch, ss, ls);
        float s = 1.0f / TornadoMath.sqrt(ss / n + eps);
        for (int i = t; i < n; i += ls) {
            out.set(o + i, (x.get(o + i) * s) * w.get(i));
        }
    }

    /**
     * attnResidual + ffnNorm: {@code h += rmsnorm(proj) ⊙ post_attention_norm}, then from the new residual
     * the three normed copies the FFN needs, which share one sum of squares: the dense MLP input
     * ({@code ffn_norm}), the router input (unweighted · 1/√D ⊙ ffn_gate_inp.scale) and the expert input
     * ({@code pre_ffw_norm_2}).
     */
    static void attnResidualFfnNorm(KernelContext ctx, FloatArray proj, FloatArray h, FloatArray postAttnNorm, FloatArray ffnNorm,
                                    FloatArray xn, FloatArray routerScale, FloatArray routerIn, FloatArray preFfwNorm2, FloatArray xe,
                                    IntArray nrows, int n, float eps, float routerInputScale, int moe, int ls) {
        float[] scratch = ctx.allocateFloatLocalArray(ls);
        int b = ctx.groupIdx;
        int t = ctx.localIdx;
        if (b >= nrows.get(0)) {
            return;
        }
        int o = b * n;
        float ss = 0f;
        for (int i = t; i < n; i += ls) {
            float v = proj.get(o + i);
            ss += v * v;
        }
        ss = groupSum(ctx, scratch, ss, ls);
        float s = 1.0f / TornadoMath.sqrt(ss / n + eps);
        float ss2 = 0f;
        for (int i = t; i < n; i += ls) {
            float v = h.get(o + i) + (proj.get(o + i) * s) * postAttnNorm.get(i);
            h.set(o + i, v);
            ss2 += v * v;
        }
        ss2 = groupSum(ctx, scratch, ss2, ls);
        float s2 = 1.0f / TornadoMath.sqrt(ss2 / n + eps);
        for (int i = t; i < n; i += ls) {
            float v = h.get(o + i) * s2;
            xn.set(o + i, v * ffnNorm.get(i));
            if (moe != 0) {
                routerIn.set(o + i, (v * routerInputScale) * routerScale.get(i));
                xe.set(o + i, v * preFfwNorm2.get(i));
            }
        }
    }

    /**
     * postNorms + residual: the weighted sum of the chosen experts' outputs (already scaled by
     * ffn_down_exps.scale), {@code f = rmsnorm(rmsnorm(mlp) ⊙ post_ffw_norm_1 + rmsnorm(moe) ⊙ post_ffw_norm_2)
     * ⊙ post_ffw_norm} and {@code h = (h + f) · layer_output_scale}. Dense layers: {@code f = rmsnorm(mlp) ⊙ post_ffw_norm}.
     */
    static void ffnOut(KernelContext ctx, FloatArray h, FloatArray mlp, FloatArray expertOut, FloatArray topW, FloatArray moe,
                       FloatArray postFfwNorm1, FloatArray postFfwNorm2, FloatArray postFfwNorm, IntArray nrows,
                       int n, int k, float eps, float layerScale, int hasMoe, int ls) {
        float[] scratch = ctx.allocateFloatLocalArray(ls);
        int b = ctx.groupIdx;
        int t = ctx.localIdx;
        if (b >= nrows.get(0)) {
            return;
        }
        int o = b * n;
        float ss = 0f;
        for (int i = t; i < n; i += ls) {
            float v = mlp.get(o + i);
            ss += v * v;
        }
        ss = groupSum(ctx, scratch, ss, ls);
        float s = 1.0f / TornadoMath.sqrt(ss / n + eps);
        if (hasMoe == 0) {
            for (int i = t; i < n; i += ls) {
                float f = (mlp.get(o + i) * s) * postFfwNorm.get(i);
                h.set(o + i, (h.get(o + i) + f) * layerScale);
            }
            return;
        }
        float ssm = 0f;
        for (int i = t; i < n; i += ls) {
            float acc = 0f;
            for (int slot = 0; slot < k; slot++) {
                acc += topW.get(b * k + slot) * expertOut.get((b * k + slot) * n + i);
            }
            moe.set(o + i, acc);
            ssm += acc * acc;
        }
        ssm = groupSum(ctx, scratch, ssm, ls);
        float sm = 1.0f / TornadoMath.sqrt(ssm / n + eps);
        float ss3 = 0f;
        for (int i = t; i < n; i += ls) {
            float v = (moe.get(o + i) * sm) * postFfwNorm2.get(i) + (mlp.get(o + i) * s) * postFfwNorm1.get(i);
            moe.set(o + i, v);
            ss3 += v * v;
        }
        ss3 = groupSum(ctx, scratch, ss3, ls);
        float s3 = 1.0f / TornadoMath.sqrt(ss3 / n + eps);
        for (int i = t; i < n; i += ls) {
            float f = (moe.get(o + i) * s3) * postFfwNorm.get(i);
            h.set(o + i, (h.get(o + i) + f) * layerScale);
        }
    }

    // ------------------------------------------------------------------ activation rounding

    /** x rounded to f16 precision (11 significant bits) by Veltkamp splitting; exact except in f16's subnormal range. */
    static float roundF16(float x) {
        float c = x * 8193.0f;
        return c - (c - x);
    }

    /** x rounded to bf16 precision (8 significant bits). */
    static float roundBf16(float x) {
        float c = x * 65537.0f;
        return c - (c - x);
    }

    /**
     * Rounds activation rows the way llama.cpp's CPU backend does before a dot product with weights of the
     * given kind (f16 / bf16 rounding, or 8-bit quantization in blocks of 32 with an f16 scale, or blocks of
     * 256 with an f32 scale), so that the device agrees with the CPU engine to summation order.
     */
    static void roundActivations(FloatArray x, FloatArray xr, IntArray nrows, int n, int xRows, int slots, int kind) {
        int block = kind == ROUND_Q8_K ? 256 : (kind == ROUND_Q8_32 ? 32 : 1);
        int blocks = n / block;
        for (@Parallel int g = 0; g < xRows * blocks; g++) {
            int b = g / blocks / slots;
            if (b < nrows.get(0)) {
                int o = g * block;
                if (kind == ROUND_F16) {
                    xr.set(o, roundF16(x.get(o)));
                } else if (kind == ROUND_BF16) {
                    xr.set(o, roundBf16(x.get(o)));
                } else if (kind == ROUND_Q8_32) {
                    float amax = 0f;
                    for (int i = 0; i < 32; i++) {
                        amax = Math.max(amax, Math.abs(x.get(o + i)));
                    }
                    float dh = roundF16(amax / 127f);
                    float id = amax != 0f ? 127f / amax : 0f;
                    for (int i = 0; i < 32; i++) {
                        xr.set(o + i, dh * TornadoMath.floor(x.get(o + i) * id + 0.5f));
                    }
                } else if (kind == ROUND_Q8_K) {
                    float amax = 0f;
                    float max = 0f;
                    for (int i = 0; i < 256; i++) {
                        float a = Math.abs(x.get(o + i));
                        if (a > amax) {
                            amax = a;
                            max = x.get(o + i);
                        }
                    }
                    if (amax == 0f) {
                        for (int i = 0; i < 256; i++) {
                            xr.set(o + i, 0f);
                        }
                    } else {
                        float iscale = -127f / max;
                        float d = 1f / iscale;
                        for (int i = 0; i < 256; i++) {
                            float q = Math.min(127f, TornadoMath.floor(iscale * x.get(o + i) + 0.5f));
                            xr.set(o + i, d * q);
                        }
                    }
                } else {
                    xr.set(o, x.get(o));
                }
            }
        }
    }

    // ------------------------------------------------------------------ matrix-vector products

    /**
     * {@code y = W·x} over the raw blocks of any supported format, one work-group per output element.
     * Work-group {@code g} computes row {@code r = g % rows} for batch-slot {@code bs = g / rows}
     * (batch row {@code bs / slots}). With {@link #MV_EXPERT} the matrix is expert {@code sel[bs]} of a 3-D
     * tensor ({@code expertStride} bytes apart, or elements for F32): all chosen experts of all rows in one
     * launch, the expert id read on the device. {@link #MV_X_PER_SLOT}: each slot has its own input row;
     * {@link #MV_SCALE}: the result is multiplied by {@code scale[expert]} (ffn_down_exps.scale).
     * {@code w} holds the raw bytes, {@code wf} the values of an F32 tensor (the other one is a 1-element dummy).
     */
    static void matvec(KernelContext ctx, ByteArray w, FloatArray wf, FloatArray x, FloatArray y, IntArray sel, FloatArray scale,
                       IntArray nrows, FloatArray pow2, int fmt, int rows, int cols, int rowStride, int expertStride,
                       int slots, int flags, int ls) {
        float[] scratch = ctx.allocateFloatLocalArray(ls);
        int g = ctx.groupIdx;
        int t = ctx.localIdx;
        int r = g % rows;
        int bs = g / rows;
        int b = bs / slots;
        if (b >= nrows.get(0)) {
            return;
        }
        int e = (flags & MV_EXPERT) != 0 ? sel.get(bs) : 0;
        int base = e * expertStride + r * rowStride;
        int xb = ((flags & MV_X_PER_SLOT) != 0 ? bs : b) * cols;
        float s = 0f;
        if (fmt == Formats.F32) {
            for (int j = t; j < cols; j += ls) {
                s += wf.get(base + j) * x.get(xb + j);
            }
        } else if (fmt == Formats.F16) {
            for (int j = t; j < cols; j += ls) {
                s += Formats.f16(w, base + 2 * j, pow2) * x.get(xb + j);
            }
        } else if (fmt == Formats.BF16) {
            for (int j = t; j < cols; j += ls) {
                s += Formats.bf16(w, base + 2 * j, pow2) * x.get(xb + j);
            }
        } else {
            // the format dispatch sits in the kernel itself: TornadoVM refuses to inline a callee above a
            // node-count limit, so each callee is one format's small block decoder
            int units = cols >> 5;
            for (int u = t; u < units; u += ls) {
                int xi = xb + 32 * u;
                if (fmt == Formats.Q8_0) {
                    s += Formats.dotQ8_0(w, base + u * 34, x, xi, pow2);
                } else if (fmt == Formats.Q4_0) {
                    s += Formats.dotQ4_0(w, base + u * 18, x, xi, pow2);
                } else if (fmt == Formats.Q5_0) {
                    s += Formats.dotQ5_0(w, base + u * 22, x, xi, pow2);
                } else if (fmt == Formats.MXFP4) {
                    s += Formats.dotMxfp4(w, base + u * 17, x, xi, pow2);
                } else if (fmt == Formats.Q4_K) {
                    s += Formats.dotQ4K(w, base + (u >> 3) * 144, u & 7, x, xi, pow2);
                } else if (fmt == Formats.Q6_K) {
                    s += Formats.dotQ6K(w, base + (u >> 3) * 210, u & 7, x, xi, pow2);
                }
            }
        }
        s = groupSum(ctx, scratch, s, ls);
        if (t == 0) {
            if ((flags & MV_SCALE) != 0) {
                s *= scale.get(e);
            }
            y.set(bs * rows + r, s);
        }
    }

    /**
     * {@code y = W·x} for a tile of up to {@code tile} activation rows per work-group: each weight block is read
     * and decoded once for all of them (what a prefill chunk or several sessions' decode rows gain over
     * {@link #matvec}, which reads a weight row once per batch row). Work-group {@code g} takes weight row
     * {@code r = g % rows} and tile {@code g / rows}:
     * <ul>
     * <li>dense (no {@link #MV_EXPERT}): tile τ is batch rows {@code τ·tile ..} (live ones only, {@code slots} 1);</li>
     * <li>{@link #MV_EXPERT}: tile τ is entry τ of the table {@link #groupExperts} built on the device: one expert
     * and up to {@code tile} of the (row, slot) pairs that chose it, so each chosen expert's weight row is read once
     * per tile instead of once per pair. Tiles beyond the table's count exit at once.</li>
     * </ul>
     * Each output is reduced exactly as {@link #matvec} reduces it (thread t sums units t, t + ls, ... in order
     * with the same per-block arithmetic, then the same tree over the work-group, taken for all rows of the tile
     * side by side), so the results are bit-identical to {@code matvec}'s and do not depend on the tile a row
     * shares. Flags and {@code y}'s layout as in {@code matvec}.
     */
    static void matmulTiles(KernelContext ctx, ByteArray w, FloatArray wf, FloatArray x, FloatArray y, IntArray tiles, FloatArray scale,
                            IntArray nrows, FloatArray pow2, int fmt, int rows, int cols, int rowStride, int expertStride,
                            int slots, int flags, int tile, int ls) {
        float[] acc = ctx.allocateFloatLocalArray(tile * ls);
        float[] s0 = ctx.allocateFloatLocalArray(tile * ls);
        float[] s1 = ctx.allocateFloatLocalArray(tile * ls);
        int[] xo = ctx.allocateIntLocalArray(tile);
        int[] yo = ctx.allocateIntLocalArray(tile);
        int g = ctx.groupIdx;
        int t = ctx.localIdx;
        int r = g % rows;
        int ti = g / rows;
        int e = 0;
        int first = ti * tile;
        int cnt = nrows.get(0) * slots - first;
        if ((flags & MV_EXPERT) != 0) {
            cnt = 0;
            if (ti < tiles.get(0)) {
                e = tiles.get(1 + 3 * ti);
                first = tiles.get(2 + 3 * ti);
                cnt = tiles.get(3 + 3 * ti);
            }
        }
        cnt = Math.min(cnt, tile);
        if (cnt <= 0) {
            return;
        }
        for (int i = t; i < cnt; i += ls) {
            int bs = (flags & MV_EXPERT) != 0 ? tiles.get(first + i) : first + i;
            xo[i] = ((flags & MV_X_PER_SLOT) != 0 ? bs : bs / slots) * cols;
            yo[i] = bs * rows + r;
        }
        for (int i = 0; i < cnt; i++) {
            acc[i * ls + t] = 0f;
        }
        ctx.localBarrier();
        int base = e * expertStride + r * rowStride;
        if (cnt == 1) {
            // a tile of one row (a decode step, an expert chosen by one pair): matvec's loop, word for word, with its
            // partial sum in a register (the tile loops below keep theirs in local memory, ~1.3-1.6x slower per row on
            // PoCL); a callee shared with matvec would exceed TornadoVM's inlining limit (600 nodes)
            int xb = xo[0];
            float s = 0f;
            if (fmt == Formats.F32) {
                for (int j = t; j < cols; j += ls) {
                    s += wf.get(base + j) * x.get(xb + j);
                }
            } else if (fmt == Formats.F16) {
                for (int j = t; j < cols; j += ls) {
                    s += Formats.f16(w, base + 2 * j, pow2) * x.get(xb + j);
                }
            } else if (fmt == Formats.BF16) {
                for (int j = t; j < cols; j += ls) {
                    s += Formats.bf16(w, base + 2 * j, pow2) * x.get(xb + j);
                }
            } else {
                int units = cols >> 5;
                for (int u = t; u < units; u += ls) {
                    int xi = xb + 32 * u;
                    if (fmt == Formats.Q8_0) {
                        s += Formats.dotQ8_0(w, base + u * 34, x, xi, pow2);
                    } else if (fmt == Formats.Q4_0) {
                        s += Formats.dotQ4_0(w, base + u * 18, x, xi, pow2);
                    } else if (fmt == Formats.Q5_0) {
                        s += Formats.dotQ5_0(w, base + u * 22, x, xi, pow2);
                    } else if (fmt == Formats.MXFP4) {
                        s += Formats.dotMxfp4(w, base + u * 17, x, xi, pow2);
                    } else if (fmt == Formats.Q4_K) {
                        s += Formats.dotQ4K(w, base + (u >> 3) * 144, u & 7, x, xi, pow2);
                    } else if (fmt == Formats.Q6_K) {
                        s += Formats.dotQ6K(w, base + (u >> 3) * 210, u & 7, x, xi, pow2);
                    }
                }
            }
            acc[t] = s;
        } else if (fmt == Formats.F32) {
            for (int j = t; j < cols; j += ls) {
                float wv = wf.get(base + j);
                for (int i = 0; i < cnt; i++) {
                    acc[i * ls + t] += wv * x.get(xo[i] + j);
                }
            }
        } else if (fmt == Formats.F16) {
            for (int j = t; j < cols; j += ls) {
                float wv = Formats.f16(w, base + 2 * j, pow2);
                for (int i = 0; i < cnt; i++) {
                    acc[i * ls + t] += wv * x.get(xo[i] + j);
                }
            }
        } else if (fmt == Formats.BF16) {
            for (int j = t; j < cols; j += ls) {
                float wv = Formats.bf16(w, base + 2 * j, pow2);
                for (int i = 0; i < cnt; i++) {
                    acc[i * ls + t] += wv * x.get(xo[i] + j);
                }
            }
        } else {
            // the block formats, written out here rather than in callees: TornadoVM 5.2 indexes a local array
            // passed to a callee as if it were a Java array (header offset, byte scaling) and runs off its end.
            // Per row, each block's partial sums take exactly the operations of Formats.dotXXX, in the same order.
            int units = cols >> 5;
            for (int u = t; u < units; u += ls) {
                int xi = 32 * u;
                for (int i = 0; i < cnt; i++) {
                    s0[i * ls + t] = 0f;
                    s1[i * ls + t] = 0f;
                }
                if (fmt == Formats.Q8_0) {
                    int p = base + u * 34;
                    for (int j = 0; j < 32; j++) {
                        float q = w.get(p + 2 + j);
                        for (int i = 0; i < cnt; i++) {
                            s0[i * ls + t] += q * x.get(xo[i] + xi + j);
                        }
                    }
                    float d = Formats.f16(w, p, pow2);
                    for (int i = 0; i < cnt; i++) {
                        acc[i * ls + t] += d * s0[i * ls + t];
                    }
                } else if (fmt == Formats.Q4_0 || fmt == Formats.Q5_0 || fmt == Formats.MXFP4) {
                    // 16 bytes of two nibbles: columns j and j + 16
                    int p = base + u * (fmt == Formats.Q4_0 ? 18 : (fmt == Formats.Q5_0 ? 22 : 17));
                    int qs = p + (fmt == Formats.Q4_0 ? 2 : (fmt == Formats.Q5_0 ? 6 : 1));
                    int qh = 0;
                    if (fmt == Formats.Q5_0) {
                        qh = Formats.ub(w.get(p + 2)) | (Formats.ub(w.get(p + 3)) << 8) | (Formats.ub(w.get(p + 4)) << 16)
                            | (Formats.ub(w.get(p + 5)) << 24);
                    }
                    for (int j = 0; j < 16; j++) {
                        byte b = w.get(qs + j);
                        float lo;
                        float hi;
                        if (fmt == Formats.Q4_0) {
                            lo = (b & 0xF) - 8;
                            hi = ((b >> 4) & 0xF) - 8;
                        } else if (fmt == Formats.Q5_0) {
                            lo = ((b & 0xF) | (((qh >> j) & 1) << 4)) - 16;
                            hi = (((b >> 4) & 0xF) | (((qh >> (j + 16)) & 1) << 4)) - 16;
                        } else {
                            lo = Formats.e2m1x2(b & 0xF);
                            hi = Formats.e2m1x2((b >> 4) & 0xF);
                        }
                        for (int i = 0; i < cnt; i++) {
                            s0[i * ls + t] += lo * x.get(xo[i] + xi + j) + hi * x.get(xo[i] + xi + j + 16);
                        }
                    }
                    float d = fmt == Formats.MXFP4 ? pow2.get(Formats.ub(w.get(p)) - 128 + Formats.POW2_ZERO) : Formats.f16(w, p, pow2);
                    for (int i = 0; i < cnt; i++) {
                        acc[i * ls + t] += d * s0[i * ls + t];
                    }
                } else if (fmt == Formats.Q4_K) {
                    // sub-block j of the super-block: s0 the weighted sum, s1 the plain sum of x (for the min)
                    int p = base + (u >> 3) * 144;
                    int j = u & 7;
                    int q = p + 16 + 32 * (j >> 1);
                    int shift = 4 * (j & 1);
                    for (int l = 0; l < 32; l++) {
                        float qv = (w.get(q + l) >> shift) & 0xF;
                        for (int i = 0; i < cnt; i++) {
                            float xv = x.get(xo[i] + xi + l);
                            s0[i * ls + t] += qv * xv;
                            s1[i * ls + t] += xv;
                        }
                    }
                    float ds = Formats.f16(w, p, pow2) * Formats.kScale(w, p + 4, j);
                    float dm = Formats.f16(w, p + 2, pow2) * Formats.kMin(w, p + 4, j);
                    for (int i = 0; i < cnt; i++) {
                        acc[i * ls + t] += ds * s0[i * ls + t] - dm * s1[i * ls + t];
                    }
                } else if (fmt == Formats.Q6_K) {
                    // group k of the super-block: s0 and s1 the two 16-value halves under their own scales
                    int p = base + (u >> 3) * 210;
                    int k = u & 7;
                    int h = k >> 2;
                    int kq = k & 3;
                    int ql = p + 64 * h + 32 * (kq & 1);
                    int qh = p + 128 + 32 * h;
                    int shiftLo = 4 * (kq >> 1);
                    int shiftHi = 2 * kq;
                    int sc = p + 192 + 8 * h + 2 * kq;
                    for (int l = 0; l < 16; l++) {
                        float q0 = (((w.get(ql + l) >> shiftLo) & 0xF) | (((w.get(qh + l) >> shiftHi) & 3) << 4)) - 32;
                        float q1 = (((w.get(ql + l + 16) >> shiftLo) & 0xF) | (((w.get(qh + l + 16) >> shiftHi) & 3) << 4)) - 32;
                        for (int i = 0; i < cnt; i++) {
                            s0[i * ls + t] += q0 * x.get(xo[i] + xi + l);
                            s1[i * ls + t] += q1 * x.get(xo[i] + xi + l + 16);
                        }
                    }
                    float d = Formats.f16(w, p + 208, pow2);
                    float sc0 = w.get(sc);
                    float sc1 = w.get(sc + 1);
                    for (int i = 0; i < cnt; i++) {
                        acc[i * ls + t] += d * (sc0 * s0[i * ls + t] + sc1 * s1[i * ls + t]);
                    }
                }
            }
        }
        // groupSum's tree, for every row of the tile
        ctx.localBarrier();
        for (int stride = ls / 2; stride > 0; stride >>= 1) {
            if (t < stride) {
                for (int i = 0; i < cnt; i++) {
                    acc[i * ls + t] += acc[i * ls + t + stride];
                }
            }
            ctx.localBarrier();
        }
        for (int i = t; i < cnt; i += ls) {
            float v = acc[i * ls];
            if ((flags & MV_SCALE) != 0) {
                v *= scale.get(e);
            }
            y.set(yo[i], v);
        }
    }

    /**
     * Groups the (row, slot) pairs of the live rows by the expert {@link #topK} chose for them (a counting sort on
     * the device; the ids never come back to the host): {@code tiles[0]} = number of tiles; tile τ at
     * {@code tiles[1 + 3τ ..]} = (expert, index in {@code tiles} of its first pair, pair count ≤ {@code tile});
     * the pair lists (pair index {@code b·slots + s}) from {@code tiles[pairsAt]} on, by expert id, each
     * expert's pairs in pair order (deterministic). {@code counts} ({@code experts} ints) is scratch. One thread:
     * at most {@code batch·slots} pairs and {@code experts} counters.
     */
    static void groupExperts(KernelContext ctx, IntArray sel, IntArray counts, IntArray tiles, IntArray nrows, int experts, int slots,
                             int tile, int pairsAt) {
        if (ctx.globalIdx == 0) {
            int pairs = nrows.get(0) * slots;
            for (int e = 0; e < experts; e++) {
                counts.set(e, 0);
            }
            for (int p = 0; p < pairs; p++) {
                int e = sel.get(p);
                counts.set(e, counts.get(e) + 1);
            }
            int nt = 0;
            int off = pairsAt;
            for (int e = 0; e < experts; e++) {
                int c = counts.get(e);
                for (int start = 0; start < c; start += tile) {
                    tiles.set(1 + 3 * nt, e);
                    tiles.set(2 + 3 * nt, off + start);
                    tiles.set(3 + 3 * nt, Math.min(tile, c - start));
                    nt++;
                }
                counts.set(e, off);
                off += c;
            }
            tiles.set(0, nt);
            for (int p = 0; p < pairs; p++) {
                int e = sel.get(p);
                int at = counts.get(e);
                tiles.set(at, p);
                counts.set(e, at + 1);
            }
        }
    }

    // ------------------------------------------------------------------ attention

    /**
     * qkNormRope + kvStore: per head, the Q/K RMSNorms (weighted), NEOX RoPE with the host-computed
     * cos/sin of the row's position, the unweighted V norm; K and V go straight into the session's cache
     * row for the position (a ring slot on sliding layers). Work-group = (row, head) over
     * {@code nq + 2·nkv} heads. {@code vraw} is the V projection, or the raw K projection when the layer has
     * no attn_v (spec §8.1).
     */
    static void qkNormRopeKvStore(KernelContext ctx, FloatArray q, FloatArray kraw, FloatArray vraw, FloatArray qNorm, FloatArray kNorm,
                                  FloatArray ropeCos, FloatArray ropeSin, FloatArray kCache, FloatArray vCache,
                                  IntArray positions, IntArray slots, IntArray nrows,
                                  int hd, int nq, int nkv, int halfRot, int capacity, float eps, int ls) {
        float[] scratch = ctx.allocateFloatLocalArray(ls);
        int g = ctx.groupIdx;
        int t = ctx.localIdx;
        int heads = nq + 2 * nkv;
        int b = g / heads;
        int head = g - b * heads;
        if (b >= nrows.get(0)) {
            return;
        }
        int pos = positions.get(b);
        int row = slots.get(b) * capacity + pos % capacity;
        int kind = head < nq ? 0 : (head < nq + nkv ? 1 : 2);
        int src;
        if (kind == 0) {
            src = (b * nq + head) * hd;
        } else if (kind == 1) {
            src = (b * nkv + head - nq) * hd;
        } else {
            src = (b * nkv + head - nq - nkv) * hd;
        }
        float ss = 0f;
        for (int i = t; i < hd; i += ls) {
            float v = kind == 0 ? q.get(src + i) : (kind == 1 ? kraw.get(src + i) : vraw.get(src + i));
            ss += v * v;
        }
        ss = groupSum(ctx, scratch, ss, ls);
        float s = 1.0f / TornadoMath.sqrt(ss / hd + eps);
        if (kind == 2) {
            int dst = (row * nkv + head - nq - nkv) * hd;
            for (int i = t; i < hd; i += ls) {
                vCache.set(dst + i, vraw.get(src + i) * s);
            }
            return;
        }
        int cs = b * halfRot;
        int dst = kind == 0 ? src : (row * nkv + head - nq) * hd;
        for (int i = t; i < hd; i += ls) {
            if (i < halfRot) {
                float a = kind == 0 ? (q.get(src + i) * s) * qNorm.get(i) : (kraw.get(src + i) * s) * kNorm.get(i);
                float c = kind == 0 ? (q.get(src + i + halfRot) * s) * qNorm.get(i + halfRot)
                    : (kraw.get(src + i + halfRot) * s) * kNorm.get(i + halfRot);
                float cos = ropeCos.get(cs + i);
                float sin = ropeSin.get(cs + i);
                float r0 = a * cos - c * sin;
                float r1 = a * sin + c * cos;
                if (kind == 0) {
                    q.set(dst + i, r0);
                    q.set(dst + i + halfRot, r1);
                } else {
                    kCache.set(dst + i, r0);
                    kCache.set(dst + i + halfRot, r1);
                }
            } else if (i >= 2 * halfRot) {
                if (kind == 0) {
                    q.set(dst + i, (q.get(src + i) * s) * qNorm.get(i));
                } else {
                    kCache.set(dst + i, (kraw.get(src + i) * s) * kNorm.get(i));
                }
            }
        }
    }

    /**
     * attention, part 1 (split over KV positions so that a GPU is filled): work-group = (row, query head,
     * chunk of {@code chunk} cached positions). Writes the chunk's running max, sum of exponentials and
     * unnormalised V sum; {@link #attentionCombine} merges the chunks. Scores are q·k (scale 1, spec §3.3);
     * sliding layers see positions {@code pos − window + 1 .. pos} from a ring of {@code capacity} slots.
     */
    static void attentionPartial(KernelContext ctx, FloatArray q, FloatArray kCache, FloatArray vCache, FloatArray partial,
                                 IntArray positions, IntArray slots, IntArray nrows,
                                 int hd, int nq, int nkv, int capacity, int window, int chunk, int chunks, int ls) {
        float[] scratch = ctx.allocateFloatLocalArray(ls);
        float[] scores = ctx.allocateFloatLocalArray(chunk);
        int g = ctx.groupIdx;
        int t = ctx.localIdx;
        int bh = g / chunks;
        int c = g - bh * chunks;
        int b = bh / nq;
        int j = bh - b * nq;
        if (b >= nrows.get(0)) {
            return;
        }
        int pos = positions.get(b);
        int slotBase = slots.get(b) * capacity;
        int first = window > 0 ? Math.max(0, pos - window + 1) : 0;
        int p0 = first + c * chunk;
        int p1 = Math.min(pos + 1, p0 + chunk);
        int kvh = j / (nq / nkv);
        int qo = (b * nq + j) * hd;
        int out = g * (hd + 2);
        float localMax = NEG_BIG;
        for (int p = p0 + t; p < p1; p += ls) {
            int kb = ((slotBase + p % capacity) * nkv + kvh) * hd;
            float dot = 0f;
            for (int d = 0; d < hd; d++) {
                dot += q.get(qo + d) * kCache.get(kb + d);
            }
            scores[p - p0] = dot;
            localMax = Math.max(localMax, dot);
        }
        float m = groupMax(ctx, scratch, localMax, ls);
        float localSum = 0f;
        for (int p = p0 + t; p < p1; p += ls) {
            float ex = TornadoMath.exp(scores[p - p0] - m);
            scores[p - p0] = ex;
            localSum += ex;
        }
        float l = groupSum(ctx, scratch, localSum, ls);
        for (int d = t; d < hd; d += ls) {
            float acc = 0f;
            for (int p = p0; p < p1; p++) {
                acc += scores[p - p0] * vCache.get(((slotBase + p % capacity) * nkv + kvh) * hd + d);
            }
            partial.set(out + d, acc);
        }
        if (t == 0) {
            partial.set(out + hd, m);
            partial.set(out + hd + 1, l);
        }
    }

    /**
     * kvStore for an f16 cache ({@code --kv-cache f16}): the normed, rotated K and the normed V of each row
     * (written by {@link #qkNormRopeKvStore} into {@code [B][nkv·hd]} staging rows) go into the session's
     * cache row for the position as IEEE half bits, rounded as {@code Float.floatToFloat16} (the CPU engine's
     * f16 cache); the query is rounded to f16 in place, as the CPU engine (and llama.cpp) round it before a
     * dot product with f16 keys. One thread per value; integer arithmetic only ({@link Formats#toF16}).
     */
    static void kvStoreF16(FloatArray q, FloatArray kStage, FloatArray vStage, ShortArray kCache, ShortArray vCache,
                           IntArray positions, IntArray slots, IntArray nrows, FloatArray pow2,
                           int qWidth, int kvWidth, int capacity, int batch) {
        int per = qWidth + 2 * kvWidth;
        for (@Parallel int g = 0; g < batch * per; g++) {
            int b = g / per;
            int i = g - b * per;
            if (b < nrows.get(0)) {
                if (i < qWidth) {
                    int o = b * qWidth + i;
                    q.set(o, Formats.fromF16(Formats.toF16(q.get(o)), pow2));
                } else {
                    int row = slots.get(b) * capacity + positions.get(b) % capacity;
                    int j = i - qWidth;
                    if (j < kvWidth) {
                        kCache.set(row * kvWidth + j, (short) Formats.toF16(kStage.get(b * kvWidth + j)));
                    } else {
                        j -= kvWidth;
                        vCache.set(row * kvWidth + j, (short) Formats.toF16(vStage.get(b * kvWidth + j)));
                    }
                }
            }
        }
    }

    /**
     * attention over an f16 cache, part 1: the score {@code q·k} of every visible position (one thread per
     * row, query head and position; {@code q} already f16-rounded by {@link #kvStoreF16}, keys decoded exactly
     * with {@link Formats#fromF16}), summed over the head dimension in order, as the CPU engine sums them.
     * Scores of (row, head) start at {@code (b·nq + j)·span}.
     */
    static void attentionScoresF16(FloatArray q, ShortArray kCache, FloatArray scores, IntArray positions, IntArray slots, IntArray nrows,
                                   FloatArray pow2, int hd, int nq, int nkv, int capacity, int window, int span, int batch) {
        for (@Parallel int g = 0; g < batch * nq * span; g++) {
            int bh = g / span;
            int i = g - bh * span;
            int b = bh / nq;
            int j = bh - b * nq;
            if (b < nrows.get(0)) {
                int pos = positions.get(b);
                int first = window > 0 ? Math.max(0, pos - window + 1) : 0;
                int p = first + i;
                if (p <= pos) {
                    int kb = ((slots.get(b) * capacity + p % capacity) * nkv + j / (nq / nkv)) * hd;
                    int qo = (b * nq + j) * hd;
                    float dot = 0f;
                    for (int d = 0; d < hd; d++) {
                        dot += Formats.fromF16(kCache.get(kb + d), pow2) * q.get(qo + d);
                    }
                    scores.set(g, dot);
                }
            }
        }
    }

    /**
     * attention over an f16 cache, part 2, one work-group per (row, query head): softmax of the scores with
     * the sum taken in position order, each weight rounded to f16 after normalising, then {@code Σ w·v} in
     * position order with values decoded from the cache: the CPU engine's (and llama.cpp's) f16 attention,
     * step for step, so that both see the same weights. The sum over positions is one thread's loop (a tree sum
     * would part from the CPU's order by an ulp, and an ulp flips some weights' f16 rounding).
     */
    static void attentionValuesF16(KernelContext ctx, FloatArray scores, ShortArray vCache, FloatArray att, IntArray positions, IntArray slots,
                                   IntArray nrows, FloatArray pow2, int hd, int nq, int nkv, int capacity, int window, int span, int ls) {
        float[] scratch = ctx.allocateFloatLocalArray(ls);
        int bh = ctx.groupIdx;
        int t = ctx.localIdx;
        int b = bh / nq;
        int j = bh - b * nq;
        if (b >= nrows.get(0)) {
            return;
        }
        int pos = positions.get(b);
        int first = window > 0 ? Math.max(0, pos - window + 1) : 0;
        int count = pos - first + 1;
        int base = bh * span;
        float localMax = NEG_BIG;
        for (int i = t; i < count; i += ls) {
            localMax = Math.max(localMax, scores.get(base + i));
        }
        float m = groupMax(ctx, scratch, localMax, ls);
        for (int i = t; i < count; i += ls) {
            scores.set(base + i, TornadoMath.exp(scores.get(base + i) - m));
        }
        ctx.globalBarrier();
        if (t == 0) {
            float sum = 0f;
            for (int i = 0; i < count; i++) {
                sum += scores.get(base + i);
            }
            scratch[0] = sum;
        }
        ctx.localBarrier();
        float inv = 1f / scratch[0];
        for (int i = t; i < count; i += ls) {
            scores.set(base + i, Formats.fromF16(Formats.toF16(scores.get(base + i) * inv), pow2));
        }
        ctx.globalBarrier();
        int vb = j / (nq / nkv) * hd;
        int slotBase = slots.get(b) * capacity;
        for (int d = t; d < hd; d += ls) {
            float acc = 0f;
            for (int i = 0; i < count; i++) {
                int p = first + i;
                acc += scores.get(base + i) * Formats.fromF16(vCache.get((slotBase + p % capacity) * nkv * hd + vb + d), pow2);
            }
            att.set(bh * hd + d, acc);
        }
    }

    /** attention, part 2: merges the chunks of each (row, head) into the normalised output. */
    static void attentionCombine(FloatArray partial, FloatArray att, IntArray nrows, int hd, int nq, int chunks, int batch) {
        for (@Parallel int g = 0; g < batch * nq * hd; g++) {
            int bh = g / hd;
            int d = g - bh * hd;
            int b = bh / nq;
            if (b < nrows.get(0)) {
                float m = NEG_BIG;
                for (int c = 0; c < chunks; c++) {
                    int o = (bh * chunks + c) * (hd + 2);
                    if (partial.get(o + hd + 1) > 0f) {
                        m = Math.max(m, partial.get(o + hd));
                    }
                }
                float l = 0f;
                float acc = 0f;
                for (int c = 0; c < chunks; c++) {
                    int o = (bh * chunks + c) * (hd + 2);
                    float lc = partial.get(o + hd + 1);
                    if (lc > 0f) {
                        float f = TornadoMath.exp(partial.get(o + hd) - m);
                        l += lc * f;
                        acc += partial.get(o + d) * f;
                    }
                }
                att.set(g, acc / l);
            }
        }
    }

    // ------------------------------------------------------------------ feed-forward

    /** GELU (tanh form) as llama.cpp's CPU evaluates it: on the f16 rounding of x, result rounded to f16; 0 below −10, x above 10. */
    static float gelu(float x) {
        float r;
        if (x <= -10f) {
            r = 0f;
        } else if (x >= 10f) {
            r = x;
        } else {
            float xr = roundF16(x);
            float g = 0.5f * xr * (1.0f + TornadoMath.tanh(0.7978845608f * xr * (1.0f + 0.044715f * xr * xr)));
            r = roundF16(g);
        }
        return r;
    }

    /**
     * denseGateUp / expert activation: {@code out[bs·n + i] = gelu(gate[bs·gateStride + i]) · up[bs·upStride + upOffset + i]}
     * for {@code bs < batch·slots} (merged expert gate_up: gate and up are the halves of one row).
     */
    static void geglu(FloatArray gate, FloatArray up, FloatArray out, IntArray nrows, int n, int gateStride, int upStride,
                      int upOffset, int slots, int batch) {
        for (@Parallel int g = 0; g < batch * slots * n; g++) {
            int bs = g / n;
            int i = g - bs * n;
            if (bs / slots < nrows.get(0)) {
                out.set(g, gelu(gate.get(bs * gateStride + i)) * up.get(bs * upStride + upOffset + i));
            }
        }
    }

    /**
     * topK (router): softmax over the experts' logits, the k most probable with the rules of
     * {@code Gemma4Math.selectExperts} (ties to the lower id; NaN ranks below every number, so the ids are
     * always valid and distinct), renormalised with llama.cpp's lower bound on the sum, then ordered by
     * expert id (the order the CPU engine sums them in). One thread per row.
     */
    static void topK(FloatArray logits, IntArray topIdx, FloatArray topW, IntArray nrows, int ne, int k, float minSum, int batch) {
        for (@Parallel int b = 0; b < batch; b++) {
            if (b < nrows.get(0)) {
                int o = b * ne;
                float max = NEG_BIG;
                for (int e = 0; e < ne; e++) {
                    max = Math.max(max, logits.get(o + e));
                }
                float sum = 0f;
                for (int e = 0; e < ne; e++) {
                    float ex = TornadoMath.exp(logits.get(o + e) - max);
                    logits.set(o + e, ex);
                    sum += ex;
                }
                float inv = 1.0f / sum;
                for (int e = 0; e < ne; e++) {
                    logits.set(o + e, logits.get(o + e) * inv);
                }
                float total = 0f;
                for (int s = 0; s < k; s++) {
                    int best = -1;
                    float bestP = 0f;
                    for (int e = 0; e < ne; e++) {
                        boolean taken = false;
                        for (int s2 = 0; s2 < s; s2++) {
                            if (topIdx.get(b * k + s2) == e) {
                                taken = true;
                            }
                        }
                        float p = logits.get(o + e);
                        // Gemma4Math.selectExperts: ties to the lower id, NaN below every number
                        if (!taken && (best < 0 || p > bestP || (bestP != bestP && p == p))) {
                            best = e;
                            bestP = p;
                        }
                    }
                    topIdx.set(b * k + s, best);
                    topW.set(b * k + s, bestP);
                    total += bestP;
                }
                total = Math.max(total, minSum);
                for (int s = 0; s < k; s++) {
                    topW.set(b * k + s, topW.get(b * k + s) / total);
                }
                // insertion sort by expert id
                for (int s = 1; s < k; s++) {
                    int id = topIdx.get(b * k + s);
                    float wv = topW.get(b * k + s);
                    int s2 = s - 1;
                    while (s2 >= 0 && topIdx.get(b * k + s2) > id) {
                        topIdx.set(b * k + s2 + 1, topIdx.get(b * k + s2));
                        topW.set(b * k + s2 + 1, topW.get(b * k + s2));
                        s2--;
                    }
                    topIdx.set(b * k + s2 + 1, id);
                    topW.set(b * k + s2 + 1, wv);
                }
            }
        }
    }

    // ------------------------------------------------------------------ logits

    /** softcap + argmax: {@code logits = cap·tanh(logits/cap)} in place (cap 0: none) and the greedy token per row (ties to the lower id). */
    static void softcapArgmax(KernelContext ctx, FloatArray logits, IntArray argmax, IntArray nrows, int vocab, float cap, int ls) {
        float[] best = ctx.allocateFloatLocalArray(ls);
        int[] bestIdx = ctx.allocateIntLocalArray(ls);
        int b = ctx.groupIdx;
        int t = ctx.localIdx;
        if (b >= nrows.get(0)) {
            return;
        }
        int o = b * vocab;
        float bv = NEG_BIG;
        int bi = vocab;
        for (int i = t; i < vocab; i += ls) {
            float v = logits.get(o + i);
            if (cap > 0f) {
                v = cap * TornadoMath.tanh(v / cap);
                logits.set(o + i, v);
            }
            if (!(v == v)) {
                v = NEG_BIG; // NaN never wins
            }
            if (v > bv || bi == vocab) {
                bv = v;
                bi = i;
            }
        }
        best[t] = bv;
        bestIdx[t] = bi;
        ctx.localBarrier();
        for (int stride = ls / 2; stride > 0; stride >>= 1) {
            if (t < stride) {
                float ov = best[t + stride];
                int oi = bestIdx[t + stride];
                if (ov > best[t] || (ov == best[t] && oi < bestIdx[t])) {
                    best[t] = ov;
                    bestIdx[t] = oi;
                }
            }
            ctx.localBarrier();
        }
        if (t == 0) {
            argmax.set(b, bestIdx[0]);
        }
    }
}
