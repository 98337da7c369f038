package dev.gemma4j.tornado;

import dev.gemma4j.engine.KvCacheType;
import dev.gemma4j.model.Gemma4Config;
import dev.gemma4j.model.Gemma4Config.LayerConfig;
import dev.gemma4j.model.Gemma4Math;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;
import uk.ac.manchester.tornado.api.types.arrays.ShortArray;

/**
 * The Gemma 4 forward pass as a chain of TaskGraphs in one execution plan (head: embedding; one graph per
 * decoder layer; tail: final norm, LM head, soft-cap and greedy argmax), for a batch of up to {@code B} rows
 * (a prefill chunk, or one row per session of a decoding step), so one decoded token is one pass over the
 * chain (one {@code execute()} per graph), the residual stream staying on the device throughout.
 * <p>
 * {@link #layer} is the single description of a decoder layer (spec §3.3); the tasks carry the model's
 * names (attnNorm, qkv, qkNormRope, kvStore, attention, attnOut, ffnNorm, denseGateUp, router, topK,
 * expertGateUp, expertDown, postNorms, residual). Each weight product goes through {@link #matvec}, which
 * picks the kernel for the plan (a plan for several rows per step: {@link Kernels#matmulTiles}, each weight row
 * read once per tile of rows, the experts' (row, slot) pairs grouped by expert on the device; one row:
 * {@link Kernels#matvec}; bit-identical results either way), passes the tensor's stored format and inserts the
 * activation rounding its type calls for; nothing in the layer depends on the quantization type or on prefill
 * versus decode.
 * <p>
 * Buffers: the residual and every intermediate are sized once for B rows and the widest layer and shared
 * by all layers; each layer has its own K and V caches ({@code sessions × capacity} rows; sliding layers
 * keep a ring of {@code window + B − 1} positions), f32 or, with {@code --kv-cache f16}, IEEE half bits in
 * a ShortArray (rounded as the CPU engine's f16 cache rounds them). Per-step values (token ids, positions,
 * session slots, live row count, RoPE cos/sin computed on the host) are small device arrays copied every
 * execution.
 */
final class ForwardPlan {
    final Gemma4Config cfg;
    final Tuning tun;
    final int contextLength;
    final int batch;
    final int d;
    /** head (embedding), one graph per decoder layer, tail (final norm, logits, argmax). */
    final List<TaskGraph> graphs = new ArrayList<>();
    private TaskGraph graph;
    private String graphName;
    final GridScheduler grid = new GridScheduler();
    final List<String> taskNames = new ArrayList<>();

    // per-step inputs
    final IntArray tokens;
    final IntArray positions;
    final IntArray slots;
    final IntArray nrows;
    /** RoPE kinds (distinct inverse-frequency vectors), per layer the kind, per kind cos/sin of each row's position. */
    final double[][] ropeInvFreq;
    final int[] layerRope;
    final FloatArray[] ropeCos;
    final FloatArray[] ropeSin;

    // outputs
    final FloatArray logits;
    final IntArray argmax;

    private final DeviceModel m;
    private final FloatArray pow2 = Formats.pow2Table();
    private final FloatArray h;
    private final FloatArray xn;
    private final FloatArray q;
    private final FloatArray k;
    private final FloatArray v;
    private final FloatArray att;
    /** Split attention's partial results (f32 cache only). */
    private final FloatArray partial;
    /** The score, then the f16-rounded weight, of every visible position per row and head (f16 cache only). */
    private final FloatArray scores;
    private final FloatArray proj;
    private final FloatArray gate;
    private final FloatArray up;
    private final FloatArray act;
    private final FloatArray mlp;
    private final FloatArray routerIn;
    private final FloatArray xe;
    private final FloatArray routerLogits;
    private final IntArray topIdx;
    private final FloatArray topW;
    private final FloatArray expertGate;
    private final FloatArray expertUp;
    private final FloatArray expertAct;
    private final FloatArray expertOut;
    private final FloatArray moe;
    private final FloatArray xf;
    /** f32 caches (null with an f16 cache). */
    final FloatArray[] kCache;
    final FloatArray[] vCache;
    /** f16 caches as half bits (null with an f32 cache). */
    final ShortArray[] kCache16;
    final ShortArray[] vCache16;
    final boolean kvF16;
    /** f16 cache: K and V rows of the step before they are rounded into the cache, and the indices that put them there. */
    private final FloatArray kStage;
    private final FloatArray vStage;
    private final IntArray stageRows;
    private final IntArray stageSlots;
    final int[] capacity;
    private final int maxExpertsUsed;
    /** Activation rows per work-group of the tiled products ({@link Kernels#matmulTiles}); 0: every product is a {@link Kernels#matvec}. */
    private final int tile;
    /** The experts' (row, slot) pairs grouped into tiles on the device ({@link Kernels#groupExperts}), and its scratch counters. */
    private final IntArray expertTiles;
    private final IntArray expertCounts;
    private final int maxExpertTiles;
    private final int expertPairsAt;

    /** What the graph being built reads that no other graph shares (weights, its KV cache, constants): copied once. */
    private final Map<Object, Boolean> resident = new IdentityHashMap<>();
    /** Activation and scratch buffers every graph may use (each graph declares them; allocated once). */
    private final Map<Object, Boolean> shared = new IdentityHashMap<>();
    /** Rounded copies of activation buffers, per (buffer, rounding kind); reused across layers. */
    private final Map<FloatArray, FloatArray[]> roundedBuffers = new IdentityHashMap<>();
    /** Rounding tasks already emitted for the current group of products reading the same input. */
    private final Map<FloatArray, boolean[]> roundedInGroup = new IdentityHashMap<>();
    private final IntArray noSel = new IntArray(1);
    private final FloatArray noScale = new FloatArray(1);
    private long activationBytes;
    private long kvBytes;

    ForwardPlan(Gemma4Config cfg, DeviceModel m, Tuning tun, int contextLength, KvCacheType kvType) {
        this.cfg = cfg;
        this.kvF16 = kvType == KvCacheType.F16;
        this.m = m;
        this.tun = tun;
        this.contextLength = contextLength;
        this.batch = tun.batchRows();
        this.d = cfg.modelWidth();
        int b = batch;
        int maxQ = 0;
        int maxKv = 0;
        int maxFfn = 0;
        int maxK = 0;
        int maxFe = 0;
        int maxPartial = 0;
        int maxHalf = 0;
        int maxScores = 0;
        for (int il = 0; il < cfg.layerCount(); il++) {
            LayerConfig l = cfg.layer(il);
            maxQ = Math.max(maxQ, l.headCount() * l.headDim());
            maxKv = Math.max(maxKv, l.kvHeadCount() * l.headDim());
            maxFfn = Math.max(maxFfn, l.ffnWidth());
            maxK = Math.max(maxK, l.expertsUsed());
            maxFe = Math.max(maxFe, l.expertFfnWidth());
            maxPartial = Math.max(maxPartial, l.headCount() * chunks(l, contextLength) * (l.headDim() + 2));
            maxHalf = Math.max(maxHalf, l.ropeDims() / 2);
            maxScores = Math.max(maxScores, l.headCount() * span(l, contextLength));
        }
        maxK = Math.max(maxK, 1);
        maxFe = Math.max(maxFe, 1);
        this.maxExpertsUsed = maxK;
        int ne = Math.max(cfg.expertCount(), 1);
        tokens = new IntArray(b);
        positions = new IntArray(b);
        slots = new IntArray(b);
        nrows = new IntArray(1);
        h = floats(b * d);
        xn = floats(b * d);
        q = floats(b * maxQ);
        k = floats(b * maxKv);
        v = floats(b * maxKv);
        att = floats(b * maxQ);
        partial = floats(kvF16 ? 1 : b * maxPartial);
        scores = floats(kvF16 ? b * maxScores : 1);
        proj = floats(b * d);
        gate = floats(b * maxFfn);
        up = floats(b * maxFfn);
        act = floats(b * maxFfn);
        mlp = floats(b * d);
        routerIn = floats(b * d);
        xe = floats(b * d);
        routerLogits = floats(b * ne);
        topIdx = new IntArray(b * maxK);
        activationBytes += 4L * b * maxK;
        topW = floats(b * maxK);
        expertGate = floats(b * maxK * 2 * maxFe);
        expertUp = floats(b * maxK * maxFe);
        expertAct = floats(b * maxK * maxFe);
        expertOut = floats(b * maxK * d);
        moe = floats(b * d);
        xf = floats(b * d);
        logits = new FloatArray(b * cfg.vocabSize());
        activationBytes += 4L * b * cfg.vocabSize();
        argmax = new IntArray(b);
        shared.put(topIdx, Boolean.TRUE);
        tile = tun.tileFor(b);
        maxExpertTiles = maxExpertTiles(b, maxK, ne, tile);
        expertPairsAt = 1 + 3 * maxExpertTiles;
        expertTiles = new IntArray(expertTableInts(b, maxK, ne, tile));
        expertCounts = new IntArray(ne);
        activationBytes += 4L * (expertTiles.getSize() + ne);
        shared.put(expertTiles, Boolean.TRUE);
        shared.put(expertCounts, Boolean.TRUE);

        // RoPE: one inverse-frequency vector per distinct (dims, base, factors); cos/sin computed on the host
        List<double[]> kinds = new ArrayList<>();
        layerRope = new int[cfg.layerCount()];
        for (int il = 0; il < cfg.layerCount(); il++) {
            double[] inv = Gemma4Math.ropeInverseFrequencies(cfg.layer(il), m.ropeFreqs);
            int found = -1;
            for (int kk = 0; kk < kinds.size(); kk++) {
                if (java.util.Arrays.equals(kinds.get(kk), inv)) {
                    found = kk;
                }
            }
            if (found < 0) {
                kinds.add(inv);
                found = kinds.size() - 1;
            }
            layerRope[il] = found;
        }
        ropeInvFreq = kinds.toArray(new double[0][]);
        ropeCos = new FloatArray[ropeInvFreq.length];
        ropeSin = new FloatArray[ropeInvFreq.length];
        for (int kk = 0; kk < ropeInvFreq.length; kk++) {
            ropeCos[kk] = new FloatArray(b * Math.max(1, ropeInvFreq[kk].length));
            ropeSin[kk] = new FloatArray(b * Math.max(1, ropeInvFreq[kk].length));
        }

        kCache = kvF16 ? null : new FloatArray[cfg.layerCount()];
        vCache = kvF16 ? null : new FloatArray[cfg.layerCount()];
        kCache16 = kvF16 ? new ShortArray[cfg.layerCount()] : null;
        vCache16 = kvF16 ? new ShortArray[cfg.layerCount()] : null;
        kStage = kvF16 ? floats(b * maxKv) : null;
        vStage = kvF16 ? floats(b * maxKv) : null;
        // qkNormRopeKvStore writes row r of the step to cache row slot·capacity + pos % capacity: with slot 0,
        // pos r and capacity B that is staging row r
        stageRows = new IntArray(b);
        stageSlots = new IntArray(b);
        for (int r = 0; r < b; r++) {
            stageRows.set(r, r);
        }
        capacity = new int[cfg.layerCount()];
        for (int il = 0; il < cfg.layerCount(); il++) {
            LayerConfig l = cfg.layer(il);
            capacity[il] = capacity(l, cfg, contextLength, b);
            long size = (long) tun.sessions() * capacity[il] * l.kvHeadCount() * l.headDim();
            if (size > Integer.MAX_VALUE - 64) {
                throw new IllegalArgumentException("layer " + il + ": a KV cache of " + tun.sessions() + " sessions × " + capacity[il]
                    + " positions does not fit one TornadoVM array; lower the context length or tornado.sessions");
            }
            if (kvF16) {
                kCache16[il] = new ShortArray((int) size);
                vCache16[il] = new ShortArray((int) size);
            } else {
                kCache[il] = new FloatArray((int) size);
                vCache[il] = new FloatArray((int) size);
            }
            kvBytes += 2L * size * elementBytes(kvType);
        }

        build();
    }

    /** The per-step inputs, copied to the device by the head graph every execution. */
    private Object[] stepInputs() {
        List<Object> a = new ArrayList<>(List.of(tokens, positions, slots, nrows));
        for (int kk = 0; kk < ropeCos.length; kk++) {
            a.add(ropeCos[kk]);
            a.add(ropeSin[kk]);
        }
        return a.toArray();
    }

    /**
     * Starts the next graph. TornadoVM keeps a graph's schedule in a fixed 8 KB buffer (about 4 layers of
     * tasks), so the model is a chain of graphs in one execution plan. Each graph has its own device copies
     * of the scratch buffers it uses (allocated once) and copies the per-step inputs in every execution. The
     * residual stream {@code h} (B × D floats) never leaves the device: the head graph owns its buffer
     * ({@code persistOnDevice}) and every later graph takes it over from the graph before it
     * ({@code consumeFromDevice}). TornadoVM 5.2 resolves that hand-over against the last executed graph, and
     * a single {@code execute()} of the whole plan records the tail as "last executed" for every graph, so from
     * the second execution on each graph took the tail's stale buffer (the wrong results of an earlier try):
     * {@link TornadoEngine} therefore runs the graphs one at a time ({@code withGraph(i).execute()}).
     * Only objects a graph declares are kept between executions.
     */
    private void beginGraph(String name, Runnable body) {
        endGraph();
        String previous = graphName;
        graphName = name;
        newGraphRounding();
        graph = new TaskGraph(name);
        resident.clear();
        roundedInGroup.clear();
        // TornadoVM keeps (and copies) only what a graph declares: every graph declares the per-step inputs
        // (copied in every execution) and the scratch buffers (allocated once); h is handed over on the device
        graph.transferToDevice(DataTransferMode.EVERY_EXECUTION, stepInputs());
        if (previous != null) {
            // the residual stream stays on the device: this graph uses the previous graph's buffer (taken over
            // when the graphs run one at a time, see TornadoEngine.step)
            graph.consumeFromDevice(previous, h);
        }
        for (Object o : shared.keySet()) {
            if (o != h) {
                resident.put(o, Boolean.TRUE);
            }
        }
        body.run();
    }

    private void endGraph() {
        if (graph == null) {
            return;
        }
        if (!resident.isEmpty()) {
            graph.transferToDevice(DataTransferMode.FIRST_EXECUTION, resident.keySet().toArray());
        }
        // keep them (KV caches above all) on the device between executions: without this, a plan of several
        // graphs frees and re-allocates them every execution on PoCL, and the caches lose their contents
        if (!resident.isEmpty()) {
            graph.persistOnDevice(resident.keySet().toArray());
        }
        if (graphName.equals("head")) {
            // the head owns the residual stream's device buffer; the graphs after it only consume it (a graph that
            // also persisted it would free the shared buffer again when the plan is closed)
            graph.persistOnDevice(h);
        }
        if (graphName.equals("tail")) {
            graph.transferToHost(DataTransferMode.EVERY_EXECUTION, logits, argmax);
        }
        graphs.add(graph);
        graph = null;
    }

    /** Positions one layer's cache holds per session: a ring of window + B − 1 on sliding layers, the whole context otherwise. */
    static int capacity(LayerConfig l, Gemma4Config cfg, int contextLength, int batch) {
        return l.sliding() ? Math.min(contextLength, cfg.slidingWindow() + batch - 1) : contextLength;
    }

    private int chunks(LayerConfig l, int contextLength) {
        return (span(l, contextLength) + tun.attnChunk() - 1) / tun.attnChunk();
    }

    /** Positions a query of this layer can see at most. */
    private int span(LayerConfig l, int contextLength) {
        return l.sliding() ? Math.min(contextLength, cfg.slidingWindow()) : contextLength;
    }

    /** Device bytes of the activations, step arrays and KV caches (weights are counted by {@link DeviceModel}). */
    long activationBytes() {
        return activationBytes + kvBytes;
    }

    /** Bytes the KV caches and activations would take, without allocating them (the check before upload). */
    static long estimateBytes(Gemma4Config cfg, Tuning tun, int contextLength, KvCacheType kvType) {
        int b = tun.batchRows();
        long kv = 0;
        int maxQ = 0;
        int maxPartial = 0;
        int maxFfn = 0;
        int maxK = 1;
        int maxFe = 1;
        int maxKv = 0;
        for (LayerConfig l : cfg.layers()) {
            maxKv = Math.max(maxKv, l.kvHeadCount() * l.headDim());
            kv += 2L * elementBytes(kvType) * tun.sessions() * capacity(l, cfg, contextLength, b) * l.kvHeadCount() * l.headDim();
            maxQ = Math.max(maxQ, l.headCount() * l.headDim());
            int span = l.sliding() ? Math.min(contextLength, cfg.slidingWindow()) : contextLength;
            int chunks = (span + tun.attnChunk() - 1) / tun.attnChunk();
            maxPartial = Math.max(maxPartial, kvType == KvCacheType.F16 ? l.headCount() * span : l.headCount() * chunks * (l.headDim() + 2));
            maxFfn = Math.max(maxFfn, l.ffnWidth());
            maxK = Math.max(maxK, l.expertsUsed());
            maxFe = Math.max(maxFe, l.expertFfnWidth());
        }
        // residual, norms, projections, rounded copies (about as many again), attention partials, FFN, experts;
        // every graph (one per layer, head, tail) holds its own device copy of these scratch buffers
        long floats = (long) b * (14L * cfg.modelWidth() + 6L * maxQ + maxPartial + 6L * maxFfn
            + (long) maxK * (6L * maxFe + 2L * cfg.modelWidth()) + Math.max(cfg.expertCount(), 1)
            + (kvType == KvCacheType.F16 ? 2L * maxKv : 0))
            + expertTableInts(b, maxK, Math.max(cfg.expertCount(), 1), tun.tileFor(b)); // ints, as wide as floats
        long logits = (long) b * cfg.vocabSize();
        return kv + 4 * (floats * (cfg.layerCount() + 2) + logits);
    }

    /**
     * Tiles of the expert table for {@code b} rows choosing {@code k} experts each among {@code ne}, with up to
     * {@code tile} pairs per tile (0: no table): each tile holds one expert's pairs (at most {@code b}: a row
     * chooses an expert once), so at most one partial tile per chosen expert plus the full ones.
     */
    static int maxExpertTiles(int b, int k, int ne, int tile) {
        int pairs = b * k;
        return tile == 0 ? 0 : Math.min(ne, pairs) + (tile < b ? (pairs + tile - 1) / tile : 0);
    }

    /** Ints of the expert tile table ({@link Kernels#groupExperts}): the count, 3 per tile, then the pair lists. */
    static int expertTableInts(int b, int k, int ne, int tile) {
        return tile == 0 ? 1 : 1 + 3 * maxExpertTiles(b, k, ne, tile) + b * k;
    }

    /** Bytes of one cached K or V value. */
    static int elementBytes(KvCacheType t) {
        return t == KvCacheType.F16 ? 2 : 4;
    }

    /** An activation buffer shared by all graphs (allocated once on the device, never copied back). */
    private FloatArray floats(int n) {
        activationBytes += 4L * n;
        FloatArray a = new FloatArray(Math.max(1, n));
        shared.put(a, Boolean.TRUE);
        return a;
    }

    // ------------------------------------------------------------------ graph

    private void build() {
        beginGraph("head", this::head);
        for (int il = 0; il < cfg.layerCount(); il++) {
            int layer = il;
            beginGraph("layer" + il, () -> layer(layer));
        }
        beginGraph("tail", this::tail);
        endGraph();
    }

    /** head: the embedding of each row's token. */
    private void head() {
        DeviceWeight emb = m.tokenEmbedding;
        resident(emb.data(), pow2);
        graph.task("embed", Kernels::embed, emb.bytes(), emb.floats(), h, tokens, nrows, pow2,
            emb.fmt(), emb.rowStride(), d, batch, m.embeddingScale);
        taskNames.add("embed");
    }

    /** tail: final norm, LM head, soft-cap and argmax. */
    private void tail() {
        resident(logits, argmax);
        rmsNorm("outputNorm", h, m.outputNorm, xf, d);
        group();
        matvec("logits", m.outputHead, xf, logits, 1, 0);
        String name = "softcapArgmax";
        KernelContext ctx = new KernelContext();
        graph.task(name, Kernels::softcapArgmax, ctx, logits, argmax, nrows, cfg.vocabSize(), cfg.logitSoftcap(), tun.normLocal());
        kernel(name, batch, tun.normLocal());
    }

    /** One decoder layer (spec §3.3, §8.1): the only description of it. */
    private void layer(int il) {
        LayerConfig l = cfg.layer(il);
        DeviceModel.Layer w = m.layers[il];
        String p = "l" + il + ".";
        int hd = l.headDim();
        int nq = l.headCount();
        int nkv = l.kvHeadCount();

        // ---- attention
        rmsNorm(p + "attnNorm", h, w.attnNorm(), xn, d);
        group();
        matvec(p + "qkv.q", w.wq(), xn, q, 1, 0);
        matvec(p + "qkv.k", w.wk(), xn, k, 1, 0);
        if (w.wv() != null) {
            matvec(p + "qkv.v", w.wv(), xn, v, 1, 0);
        }
        FloatArray vraw = w.wv() != null ? v : k; // no attn_v: V is the raw K projection (spec §8.1)
        int kind = layerRope[il];
        int half = l.ropeDims() / 2;
        String name;
        int window = l.sliding() ? cfg.slidingWindow() : 0;
        int chunks = chunks(l, contextLength);
        if (!kvF16) {
            name = p + "qkNormRope.kvStore";
            resident(w.qNorm(), w.kNorm(), kCache[il], vCache[il]);
            graph.task(name, Kernels::qkNormRopeKvStore, new KernelContext(), q, k, vraw, w.qNorm(), w.kNorm(), ropeCos[kind], ropeSin[kind],
                kCache[il], vCache[il], positions, slots, nrows, hd, nq, nkv, half, capacity[il], cfg.rmsEps(), tun.attnLocal());
            kernel(name, batch * (nq + 2 * nkv), tun.attnLocal());
            name = p + "attention";
            graph.task(name, Kernels::attentionPartial, new KernelContext(), q, kCache[il], vCache[il], partial, positions, slots, nrows,
                hd, nq, nkv, capacity[il], window, tun.attnChunk(), chunks, tun.attnLocal());
            kernel(name, batch * nq * chunks, tun.attnLocal());
            name = p + "attention.combine";
            graph.task(name, Kernels::attentionCombine, partial, att, nrows, hd, nq, chunks, batch);
            taskNames.add(name);
        } else {
            // the same norms and RoPE, K and V written to staging rows, then rounded into the f16 cache; attention
            // as the CPU engine computes it over an f16 cache (scores, then f16-rounded softmax weights times V)
            name = p + "qkNormRope";
            resident(w.qNorm(), w.kNorm(), kCache16[il], vCache16[il], stageRows, stageSlots, pow2);
            graph.task(name, Kernels::qkNormRopeKvStore, new KernelContext(), q, k, vraw, w.qNorm(), w.kNorm(), ropeCos[kind], ropeSin[kind],
                kStage, vStage, stageRows, stageSlots, nrows, hd, nq, nkv, half, batch, cfg.rmsEps(), tun.attnLocal());
            kernel(name, batch * (nq + 2 * nkv), tun.attnLocal());
            name = p + "kvStoreF16";
            graph.task(name, Kernels::kvStoreF16, q, kStage, vStage, kCache16[il], vCache16[il], positions, slots, nrows, pow2,
                nq * hd, nkv * hd, capacity[il], batch);
            taskNames.add(name);
            int span = span(l, contextLength);
            name = p + "attention.scores";
            graph.task(name, Kernels::attentionScoresF16, q, kCache16[il], scores, positions, slots, nrows, pow2, hd, nq, nkv, capacity[il],
                window, span, batch);
            taskNames.add(name);
            name = p + "attention.values";
            graph.task(name, Kernels::attentionValuesF16, new KernelContext(), scores, vCache16[il], att, positions, slots, nrows, pow2,
                hd, nq, nkv, capacity[il], window, span, tun.attnLocal());
            kernel(name, batch * nq, tun.attnLocal());
        }
        group();
        matvec(p + "attnOut", w.wo(), att, proj, 1, 0);

        // ---- residual + the FFN's input norms
        boolean hasMoe = w.router() != null;
        name = p + "attnResidual.ffnNorm";
        FloatArray routerScale = hasMoe ? w.routerScale() : noScale;
        FloatArray preNorm2 = hasMoe ? w.preFfwNorm2() : noScale;
        resident(w.postAttnNorm(), w.ffnNorm(), routerScale, preNorm2);
        graph.task(name, Kernels::attnResidualFfnNorm, new KernelContext(), proj, h, w.postAttnNorm(), w.ffnNorm(), xn, routerScale, routerIn,
            preNorm2, xe, nrows, d, cfg.rmsEps(), Gemma4Math.routerInputScale(cfg), hasMoe ? 1 : 0, tun.normLocal());
        kernel(name, batch, tun.normLocal());

        // ---- dense MLP
        int f = l.ffnWidth();
        group();
        matvec(p + "denseGateUp.gate", w.ffnGate(), xn, gate, 1, 0);
        matvec(p + "denseGateUp.up", w.ffnUp(), xn, up, 1, 0);
        name = p + "denseGeglu";
        graph.task(name, Kernels::geglu, gate, up, act, nrows, f, f, f, 0, 1, batch);
        taskNames.add(name);
        group();
        matvec(p + "denseDown", w.ffnDown(), act, mlp, 1, 0);

        // ---- router and experts
        int kUsed = Math.max(l.expertsUsed(), 1);
        if (hasMoe) {
            int ne = cfg.expertCount();
            int fe = l.expertFfnWidth();
            group();
            matvec(p + "router", w.router(), routerIn, routerLogits, 1, 0);
            name = p + "topK";
            graph.task(name, Kernels::topK, routerLogits, topIdx, topW, nrows, ne, kUsed, Gemma4Math.MIN_EXPERT_WEIGHT_SUM, batch);
            taskNames.add(name);
            if (tile > 0) {
                // the rows' (row, slot) pairs grouped by chosen expert, so that the expert products read each chosen
                // expert's rows once per tile of pairs rather than once per pair
                name = p + "expertGroups";
                graph.task(name, Kernels::groupExperts, new KernelContext(), topIdx, expertCounts, expertTiles, nrows, ne, kUsed, tile,
                    expertPairsAt);
                kernel(name, 1, 1);
            }
            group();
            if (w.expertGateUp() != null) {
                // merged layout: rows [0, fe) of each expert are the gate, rows [fe, 2·fe) the up projection
                matvec(p + "expertGateUp", w.expertGateUp(), xe, expertGate, kUsed, Kernels.MV_EXPERT);
                name = p + "expertGeglu";
                graph.task(name, Kernels::geglu, expertGate, expertGate, expertAct, nrows, fe, 2 * fe, 2 * fe, fe, kUsed, batch);
            } else {
                matvec(p + "expertGateUp.gate", w.expertGate(), xe, expertGate, kUsed, Kernels.MV_EXPERT);
                matvec(p + "expertGateUp.up", w.expertUp(), xe, expertUp, kUsed, Kernels.MV_EXPERT);
                name = p + "expertGeglu";
                graph.task(name, Kernels::geglu, expertGate, expertUp, expertAct, nrows, fe, fe, fe, 0, kUsed, batch);
            }
            taskNames.add(name);
            group();
            int flags = Kernels.MV_EXPERT | Kernels.MV_X_PER_SLOT | (w.expertDownScale() != null ? Kernels.MV_SCALE : 0);
            matvecScaled(p + "expertDown", w.expertDown(), expertAct, expertOut, kUsed, flags, w.expertDownScale());
        }

        // ---- postNorms + residual + layer output scale
        name = p + "postNorms.residual";
        FloatArray n1 = hasMoe ? w.postFfwNorm1() : noScale;
        FloatArray n2 = hasMoe ? w.postFfwNorm2() : noScale;
        resident(n1, n2, w.postFfwNorm());
        graph.task(name, Kernels::ffnOut, new KernelContext(), h, mlp, expertOut, topW, moe, n1, n2, w.postFfwNorm(), nrows,
            d, kUsed, cfg.rmsEps(), w.layerOutputScale(), hasMoe ? 1 : 0, tun.normLocal());
        kernel(name, batch, tun.normLocal());
    }

    private void rmsNorm(String name, FloatArray x, FloatArray weight, FloatArray out, int n) {
        resident(weight);
        graph.task(name, Kernels::rmsNorm, new KernelContext(), x, weight, out, nrows, n, cfg.rmsEps(), tun.normLocal());
        kernel(name, batch, tun.normLocal());
    }

    /** Starts a group of products that read the same, freshly written activations (their rounding is shared). */
    private void group() {
        roundedInGroup.clear();
    }

    /** Rounded copies are per graph. */
    private void newGraphRounding() {
        roundedBuffers.clear();
        roundedInGroup.clear();
    }

    private void matvec(String name, DeviceWeight w, FloatArray x, FloatArray y, int slotCount, int flags) {
        matvecScaled(name, w, x, y, slotCount, flags, null);
    }

    /**
     * {@code y = W·x} with the kernel variant of W's stored format; the activation is first rounded the way
     * llama.cpp's CPU backend rounds it for W's type (one rounding task per input and kind within a group).
     */
    private void matvecScaled(String name, DeviceWeight w, FloatArray x, FloatArray y, int slotCount, int flags, FloatArray scale) {
        int xRows = (flags & Kernels.MV_X_PER_SLOT) != 0 ? batch * slotCount : batch;
        FloatArray input = x;
        int kind = tun.roundActivations() ? w.rounding() : Kernels.ROUND_NONE;
        if (kind != Kernels.ROUND_NONE && w.cols() % (kind == Kernels.ROUND_Q8_K ? 256 : 32) == 0) {
            // rounded copies belong to the graph that reads them (one per layer): nothing shares them
            FloatArray[] byKind = roundedBuffers.computeIfAbsent(x, a -> new FloatArray[5]);
            if (byKind[kind] == null) {
                byKind[kind] = new FloatArray(x.getSize());
                activationBytes += 4L * x.getSize();
            }
            input = byKind[kind];
            resident(input);
            boolean[] done = roundedInGroup.computeIfAbsent(x, a -> new boolean[5]);
            if (!done[kind]) {
                done[kind] = true;
                String rn = name + ".round";
                // rows of x beyond the live ones are skipped by the kernel (nrows); x is [xRows][cols]
                graph.task(rn, Kernels::roundActivations, x, input, nrows, w.cols(), xRows, (flags & Kernels.MV_X_PER_SLOT) != 0 ? slotCount : 1, kind);
                taskNames.add(rn);
            }
        }
        resident(w.data());
        FloatArray sc = scale != null ? scale : noScale;
        resident(sc, noSel);
        boolean expert = (flags & Kernels.MV_EXPERT) != 0;
        if (tile > 0) {
            // several rows per step: a work-group per (weight row, tile of activation rows), bit-identical to matvec
            resident(expertTiles);
            graph.task(name, Kernels::matmulTiles, new KernelContext(), w.bytes(), w.floats(), input, y, expert ? expertTiles : noSel, sc, nrows,
                pow2, w.fmt(), w.rows(), w.cols(), w.rowStride(), w.expertStride(), slotCount, flags, tile, tun.matvecLocal());
            kernel(name, (expert ? maxExpertTiles : (batch + tile - 1) / tile) * w.rows(), tun.matvecLocal());
        } else {
            graph.task(name, Kernels::matvec, new KernelContext(), w.bytes(), w.floats(), input, y, expert ? topIdx : noSel, sc, nrows, pow2,
                w.fmt(), w.rows(), w.cols(), w.rowStride(), w.expertStride(), slotCount, flags, tun.matvecLocal());
            kernel(name, batch * slotCount * w.rows(), tun.matvecLocal());
        }
    }

    private void kernel(String name, int groups, int local) {
        WorkerGrid1D wg = new WorkerGrid1D(groups * local);
        wg.setLocalWork(local, 1, 1);
        grid.addWorkerGrid(graphName + "." + name, wg);
        taskNames.add(name);
    }

    private void resident(Object... arrays) {
        for (Object a : arrays) {
            if (a != null) {
                resident.put(a, Boolean.TRUE);
            }
        }
    }

    /** Kernel launches per step (one per task). */
    int launchesPerStep() {
        return taskNames.size();
    }

    int maxExpertsUsed() {
        return maxExpertsUsed;
    }

    /** Fills the RoPE cos/sin of row {@code r} at position {@code pos} (double precision, as the CPU engine). */
    void setRope(int r, int pos) {
        for (int kk = 0; kk < ropeInvFreq.length; kk++) {
            double[] inv = ropeInvFreq[kk];
            int o = r * inv.length;
            for (int i = 0; i < inv.length; i++) {
                double th = pos * inv[i];
                ropeCos[kk].set(o + i, (float) Math.cos(th));
                ropeSin[kk].set(o + i, (float) Math.sin(th));
            }
        }
    }

}
