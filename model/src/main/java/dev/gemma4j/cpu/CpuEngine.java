package dev.gemma4j.cpu;

import dev.gemma4j.engine.ContextOverflowException;
import dev.gemma4j.engine.Engine;
import dev.gemma4j.engine.EngineArguments;
import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.Session;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.model.Gemma4Config;
import dev.gemma4j.model.Gemma4Config.LayerConfig;
import dev.gemma4j.model.Gemma4Math;
import dev.gemma4j.model.Gemma4Weights;
import dev.gemma4j.model.NonFiniteValueException;
import com.sun.management.OperatingSystemMXBean;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The pure-Java CPU backend: weights stay in their stored format, memory-mapped or copied into the engine's
 * own memory ({@link EngineOptions#mmap()}), activations are f32,
 * work is spread over the engine's own {@link WorkerPool}. Prompts are evaluated in chunks of
 * {@link EngineOptions#prefillChunk()} rows; several sessions can decode in one step. Calls are
 * serialised (one forward pass at a time).
 */
public final class CpuEngine implements Engine {
    private final Gemma4Config cfg;
    private final Gemma4Weights weights;
    /** Owns the weights when they were copied out of the file ({@code mmap} off); null when they are mapped. */
    private final Arena weightMemory;
    private final EngineOptions options;
    private final WorkerPool pool;
    private final MatMul mm;
    private final Buffers buf;
    private final DecoderLayer[] layers;
    private final Batch batch;
    private final float embeddingScale;
    private final int slidingCapacity;
    private final float[] finalNormed;
    /** Rows whose logits share one LM-head product (its output buffer is this many vocabularies). */
    private static final int LM_HEAD_GROUP = 8;
    private float[] headIn = new float[0];
    private float[] headOut = new float[0];
    private final CpuSession[] oneSession = new CpuSession[1];
    private final int[] oneToken = new int[1];
    private final int[][] oneTokens = new int[1][];
    private final float[][] oneLogits = new float[1][];
    /** Batch rows whose logits the current step wants, and the index of their session in the step. */
    private final int[] logitRow;
    private final int[] logitSession;
    private int logitRows;
    private boolean closed;

    /** Builds an engine over an open GGUF (which must stay open while the engine is used). */
    public CpuEngine(GgufFile gguf, EngineOptions options) {
        this(Gemma4Config.read(gguf), gguf, options);
    }

    private CpuEngine(Gemma4Config cfg, GgufFile gguf, EngineOptions options) {
        this.cfg = cfg;
        if (!options.mmap()) {
            requireRoomForCopy(gguf);
        }
        this.weightMemory = options.mmap() ? null : Arena.ofShared();
        try {
            this.weights = Gemma4Weights.load(gguf, cfg, weightMemory);
        } catch (RuntimeException | Error e) {
            if (weightMemory != null) {
                weightMemory.close();
            }
            throw e;
        }
        this.options = options;
        int rows = options.prefillChunk();
        int maxCols = cfg.modelWidth();
        for (LayerConfig l : cfg.layers()) {
            maxCols = Math.max(maxCols, Math.max(l.headCount() * l.headDim(), Math.max(l.ffnWidth(), l.expertFfnWidth())));
        }
        this.pool = new WorkerPool(options.threads());
        this.mm = new MatMul(pool, maxCols, 2 * Math.max(cfg.expertCount(), 4) + 8, options.batchInvariant());
        this.buf = new Buffers(cfg, rows, options.contextLength(), options.threads());
        this.batch = new Batch(rows);
        this.logitRow = new int[rows];
        this.logitSession = new int[rows];
        this.layers = new DecoderLayer[cfg.layerCount()];
        for (int il = 0; il < layers.length; il++) {
            layers[il] = new DecoderLayer(il, cfg, weights.layers()[il], weights.ropeFreqs(), pool, mm, buf);
        }
        this.embeddingScale = Gemma4Math.embeddingScale(cfg);
        this.slidingCapacity = Math.min(options.contextLength(), cfg.slidingWindow() + rows - 1);
        this.finalNormed = new float[cfg.modelWidth()];
    }

    @Override
    public Gemma4Config config() {
        return cfg;
    }

    @Override
    public EngineOptions options() {
        return options;
    }

    public Gemma4Weights weights() {
        return weights;
    }

    /** Bytes of KV cache one session allocates. */
    public long sessionCacheBytes() {
        long n = 0;
        for (LayerConfig l : cfg.layers()) {
            n += LayerKvCache.bytesFor(l.sliding() ? slidingCapacity : options.contextLength(), l.kvHeadCount(), l.headDim(),
                options.kvCacheType());
        }
        return n;
    }

    @Override
    public synchronized Session newSession() {
        checkOpen();
        LayerKvCache[] caches = new LayerKvCache[cfg.layerCount()];
        for (int il = 0; il < caches.length; il++) {
            LayerConfig l = cfg.layer(il);
            boolean ring = l.sliding() && slidingCapacity < options.contextLength();
            int cap = l.sliding() ? slidingCapacity : options.contextLength();
            caches[il] = new LayerKvCache(cap, ring, l.kvHeadCount(), l.headDim(), options.kvCacheType());
        }
        return new CpuSession(this, caches, options.contextLength());
    }

    @Override
    public synchronized void prefill(Session session, int[] tokens, float[] logits) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("prefill needs at least one token");
        }
        checkLogits(logits);
        oneSession[0] = own(session);
        oneTokens[0] = tokens;
        oneLogits[0] = logits;
        try {
            step(Arrays.asList(oneSession), oneTokens, oneLogits);
        } finally {
            oneSession[0] = null;
            oneTokens[0] = null;
            oneLogits[0] = null;
        }
    }

    @Override
    public synchronized void decode(List<? extends Session> sessions, int[] tokens, float[][] logits) {
        int n = sessions.size();
        if (tokens.length != n || logits.length != n) {
            throw new IllegalArgumentException("decode: " + n + " sessions, " + tokens.length + " tokens, " + logits.length + " logit arrays");
        }
        int[][] rows = new int[n][];
        for (int i = 0; i < n; i++) {
            checkLogits(logits[i]);
            rows[i] = new int[] {tokens[i]};
        }
        step(sessions, rows, logits);
    }

    /** One step of one session without allocating. */
    @Override
    public synchronized void decode(Session session, int token, float[] logits) {
        checkLogits(logits);
        oneSession[0] = own(session);
        oneToken[0] = token;
        oneTokens[0] = oneToken;
        oneLogits[0] = logits;
        try {
            step(Arrays.asList(oneSession), oneTokens, oneLogits);
        } finally {
            oneSession[0] = null;
            oneTokens[0] = null;
            oneLogits[0] = null;
        }
    }

    /**
     * Every session's tokens go through the layers in shared batches of up to {@link EngineOptions#prefillChunk()}
     * rows (a session's rows stay contiguous and in order), so decoding rows and prompt pieces of other
     * sessions read each weight block once per batch. Validated completely before anything is evaluated.
     */
    @Override
    public synchronized void step(List<? extends Session> sessions, int[][] tokens, float[][] logits) {
        checkOpen();
        int n = sessions.size();
        if (tokens.length != n || logits.length != n) {
            throw new IllegalArgumentException("step: " + n + " sessions, " + tokens.length + " token lists, " + logits.length + " logit arrays");
        }
        for (int i = 0; i < n; i++) {
            CpuSession s = own(sessions.get(i));
            for (int j = 0; j < i; j++) {
                if (sessions.get(j) == s) {
                    throw new IllegalArgumentException("step: the same session appears twice");
                }
            }
            if (tokens[i].length == 0) {
                throw new IllegalArgumentException("step: session " + i + " has no tokens");
            }
            for (int t : tokens[i]) {
                checkToken(t);
            }
            if (logits[i] != null) {
                checkLogits(logits[i]);
            }
            if ((long) s.position + tokens[i].length > s.contextLength()) {
                throw new ContextOverflowException(s.position, tokens[i].length, s.contextLength());
            }
        }
        int chunk = options.prefillChunk();
        batch.clear();
        try {
            for (int i = 0; i < n; i++) {
                CpuSession s = (CpuSession) sessions.get(i);
                int[] ts = tokens[i];
                int inBatch = 0;
                for (int t = 0; t < ts.length; t++) {
                    if (batch.size == chunk) {
                        runBatch(logits);
                        inBatch = 0;
                    }
                    batch.add(s, ts[t], s.position + inBatch++);
                    if (t == ts.length - 1 && logits[i] != null) {
                        logitRow[logitRows] = batch.size - 1;
                        logitSession[logitRows++] = i;
                    }
                }
            }
            runBatch(logits);
        } finally {
            batch.clear();
            logitRows = 0;
        }
    }

    /** Evaluates the collected rows, advances their sessions and writes the logits asked for in this batch. */
    private void runBatch(float[][] logits) {
        if (batch.size == 0) {
            return;
        }
        forward(batch);
        for (int r = 0; r < batch.size; r++) {
            batch.sessions[r].position++;
        }
        // the LM head (the largest matrix) runs once for a group of rows, so each of its weight blocks is
        // decoded once per step for all the sequences decoding together rather than once per sequence
        for (int k0 = 0; k0 < logitRows; k0 += LM_HEAD_GROUP) {
            int g = Math.min(LM_HEAD_GROUP, logitRows - k0);
            if (g == 1) {
                logits(logitRow[k0], logits[logitSession[k0]]);
            } else {
                groupLogits(k0, g, logits);
            }
        }
        logitRows = 0;
        batch.clear();
    }

    /** Final norm, LM head and soft-cap for logit rows {@code k0 .. k0+g} together. */
    private void groupLogits(int k0, int g, float[][] logits) {
        int d = cfg.modelWidth();
        int v = cfg.vocabSize();
        if (headIn.length < g * d) {
            headIn = new float[LM_HEAD_GROUP * d];
            headOut = new float[LM_HEAD_GROUP * v];
        }
        for (int j = 0; j < g; j++) {
            VectorMath.rmsNorm(buf.h, logitRow[k0 + j] * d, weights.outputNorm(), cfg.rmsEps(), headIn, j * d, d);
        }
        mm.add(weights.outputHead(), headIn, 0, g, headOut, 0, v).run();
        for (int j = 0; j < g; j++) {
            softcap(headOut, j * v, logits[logitSession[k0 + j]]);
        }
    }

    private void forward(Batch b) {
        int d = cfg.modelWidth();
        for (int r = 0; r < b.size; r++) {
            weights.tokenEmbedding().dequantizeRow(b.tokens[r], buf.h, r * d);
            float probe = 0f;
            for (int i = 0; i < d; i++) {
                buf.h[r * d + i] *= embeddingScale;
                probe += buf.h[r * d + i] * 0f;
            }
            if (probe != 0f) {
                throw new NonFiniteValueException(weights.tokenEmbedding().name() + " (row " + b.tokens[r] + ")");
            }
        }
        for (DecoderLayer layer : layers) {
            layer.forward(b);
        }
    }

    /** Final norm, LM head and soft-cap for batch row {@code r}. */
    private void logits(int r, float[] out) {
        int d = cfg.modelWidth();
        VectorMath.rmsNorm(buf.h, r * d, weights.outputNorm(), cfg.rmsEps(), finalNormed, 0, d);
        mm.add(weights.outputHead(), finalNormed, 0, 1, out, 0, cfg.vocabSize()).run();
        softcap(out, 0, out);
    }

    /** Logits per soft-cap task: a tanh per logit over 262k of them took 2.6 ms of a step on one thread. */
    private static final int SOFTCAP_CHUNK = 16384;
    private float[] softcapIn;
    private int softcapInOffset;
    private float[] softcapOut;
    private final WorkerPool.Body softcapTask = this::softcapChunk;

    /** {@code out[i] = softcap(in[inOffset + i])} over the vocabulary, in chunks across the pool (element-wise: same values). */
    private void softcap(float[] in, int inOffset, float[] out) {
        softcapIn = in;
        softcapInOffset = inOffset;
        softcapOut = out;
        try {
            pool.forEach((cfg.vocabSize() + SOFTCAP_CHUNK - 1) / SOFTCAP_CHUNK, softcapTask);
        } finally {
            softcapIn = null;
            softcapOut = null;
        }
    }

    private void softcapChunk(int chunk, int worker) {
        float cap = cfg.logitSoftcap();
        float[] in = softcapIn;
        float[] out = softcapOut;
        int o = softcapInOffset;
        int end = Math.min(cfg.vocabSize(), (chunk + 1) * SOFTCAP_CHUNK);
        for (int i = chunk * SOFTCAP_CHUNK; i < end; i++) {
            out[i] = Gemma4Math.softcap(in[o + i], cap);
        }
    }

    private CpuSession own(Session session) {
        if (!(session instanceof CpuSession s) || s.engine != this) {
            throw new IllegalArgumentException("session does not belong to this engine");
        }
        s.checkOpen();
        return s;
    }

    private void checkToken(int t) {
        EngineArguments.checkToken(t, cfg.vocabSize());
    }

    private void checkLogits(float[] logits) {
        EngineArguments.checkLogits(logits, cfg.vocabSize());
    }

    /**
     * A copy of a model larger than the machine's memory would not fail when it is allocated (the kernel
     * overcommits) but part way through the copy, by the OOM killer: refuse it up front instead.
     */
    private static void requireRoomForCopy(GgufFile gguf) {
        long bytes = 0;
        for (Path p : gguf.shardPaths()) {
            try {
                bytes += Files.size(p);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        long total = ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
        if (total > 0 && bytes > total) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                "copying the weights into memory (--no-mmap) needs the model's %.1f GB, more than this machine's %.1f GB;"
                    + " leave mmap on to read the file memory-mapped", bytes / 1e9, total / 1e9));
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("engine is closed");
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        pool.close();
        if (weightMemory != null) {
            weightMemory.close();
        }
    }
}
