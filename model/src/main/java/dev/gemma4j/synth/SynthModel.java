package dev.gemma4j.synth;

import static dev.gemma4j.model.Gemma4Gguf.ARCHITECTURE;
import static dev.gemma4j.model.Gemma4Gguf.KEY_ARCHITECTURE;
import static dev.gemma4j.model.Gemma4Gguf.KEY_CHAT_TEMPLATE;
import static dev.gemma4j.model.Gemma4Gguf.LayerTensor.*;
import static dev.gemma4j.model.Gemma4Gguf.OUTPUT;
import static dev.gemma4j.model.Gemma4Gguf.OUTPUT_NORM;
import static dev.gemma4j.model.Gemma4Gguf.ROPE_FREQS;
import static dev.gemma4j.model.Gemma4Gguf.TOKEN_EMBD;

import dev.gemma4j.gguf.GgufValue;
import dev.gemma4j.gguf.GgufWriter;
import dev.gemma4j.model.Gemma4Gguf.Key;
import dev.gemma4j.tensor.GgmlType;
import dev.gemma4j.tensor.TensorFormat;
import dev.gemma4j.tensor.UnsupportedTensorTypeException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Plans and writes a random-weight GGUF of architecture {@code gemma4} with every feature of 26B-A4B
 * (spec §1, §2): hybrid sliding/full attention with per-kind head dims, KV heads and rope bases,
 * {@code rope_freqs}, K=V on full layers, QK-norm, router with input scale, per-expert down scale,
 * merged (or split) experts beside a dense MLP, layer output scale, soft-capped tied logits, a gemma4
 * tokenizer and the official chat template.
 *
 * <p>Weight scales keep every activation finite and the logits informative: projections are drawn with
 * standard deviation 1/sqrt(fan-in) (their outputs are normalised anyway), the Q/K norm weights make the
 * attention scores (scale 1.0) about {@value #ATTENTION_SCORE_STD} in standard deviation, the router
 * logits about {@value #ROUTER_LOGIT_STD}, the embedding contributes a residual of RMS
 * {@value #EMBEDDING_RMS} (small against the layers' post-normed outputs, so the model does not merely
 * echo its input token) and the final norm scales the logits to about {@value #LOGIT_STD} before the
 * soft-cap of 30.
 *
 * <p>Every row is drawn from a seed derived from the model seed, the tensor name and the row index, so
 * the same seed gives the same bytes whatever the thread count. Large expert tensors take their rows
 * from a pool per source tensor (see {@link SynthWeights#POOL_ROWS}). Tensors are written in the order
 * llama.cpp's loader walks them (by layer, then by name), which is also the order llama-quantize's
 * per-tensor rules count in.
 */
public final class SynthModel {

    static final double ATTENTION_SCORE_STD = 2.5;
    static final double ROUTER_LOGIT_STD = 2.0;
    static final double EMBEDDING_RMS = 0.2;
    static final double LOGIT_STD = 4.0;
    static final float SOFTCAP = 30f;
    static final float ROPE_BASE_FULL = 1_000_000f;
    static final float ROPE_BASE_SWA = 10_000f;

    private SynthModel() {
    }

    /** Everything about a model except its tensor data: metadata in write order and the tensor list. */
    public record Plan(SynthConfig config, SynthType type, long seed, Map<String, GgufValue> metadata, List<SynthTensor> tensors) {
        public Plan {
            metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
            tensors = List.copyOf(tensors);
        }

        public long parameterCount() {
            long n = 0;
            for (SynthTensor t : tensors) {
                n += t.elements();
            }
            return n;
        }

        public long tensorBytes() {
            long n = 0;
            for (SynthTensor t : tensors) {
                n += t.bytes();
            }
            return n;
        }

        /** Number of tensors per ggml type, by type name. */
        public Map<String, Integer> typeCounts() {
            Map<String, Integer> m = new TreeMap<>();
            for (SynthTensor t : tensors) {
                m.merge(t.type().name(), 1, Integer::sum);
            }
            return m;
        }

        public SynthTensor tensor(String name) {
            for (SynthTensor t : tensors) {
                if (t.name().equals(name)) {
                    return t;
                }
            }
            return null;
        }
    }

    /** What {@link #write} produced. */
    public record Summary(Path path, long bytes, long parameters, int tensors, double seconds, Map<String, Integer> types) {
    }

    /** Builds the plan (metadata, tokenizer, tensor inventory and types) without touching any weights. */
    public static Plan plan(SynthConfig c, SynthType type, long seed) {
        c.validate();
        SynthTokenizer.Vocab vocab = SynthTokenizer.build(c.vocab());
        return plan(c, type, seed, vocab);
    }

    /** As {@link #plan(SynthConfig, SynthType, long)} with a prebuilt vocabulary of {@code c.vocab()} tokens. */
    public static Plan plan(SynthConfig c, SynthType type, long seed, SynthTokenizer.Vocab vocab) {
        c.validate();
        if (vocab.size() != c.vocab()) {
            throw new IllegalArgumentException("vocab has " + vocab.size() + " tokens, config says " + c.vocab());
        }
        return new Plan(c, type, seed, metadata(c, type, vocab), tensors(c, type));
    }

    // ---------------------------------------------------------------------------------------------
    // metadata

    private static Map<String, GgufValue> metadata(SynthConfig c, SynthType type, SynthTokenizer.Vocab v) {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put(KEY_ARCHITECTURE, GgufValue.ofString(ARCHITECTURE));
        m.put("general.type", GgufValue.ofString("model"));
        m.put("general.name", GgufValue.ofString("gemma4j synth " + c.name()));
        m.put("general.alignment", GgufValue.ofUint32(32));
        m.put("general.sampling.top_k", GgufValue.ofInt32(64));
        m.put("general.sampling.top_p", GgufValue.ofFloat32(0.95f));
        m.put("general.sampling.temp", GgufValue.ofFloat32(1.0f));
        m.put(Key.BLOCK_COUNT.key(), GgufValue.ofUint32(c.layers()));
        m.put(Key.CONTEXT_LENGTH.key(), GgufValue.ofUint32(c.contextLength()));
        m.put(Key.EMBEDDING_LENGTH.key(), GgufValue.ofUint32(c.width()));
        m.put(Key.FEED_FORWARD_LENGTH.key(), GgufValue.ofUint32(c.denseWidth()));
        m.put(Key.HEAD_COUNT.key(), GgufValue.ofUint32(c.heads()));
        int[] kv = new int[c.layers()];
        for (int il = 0; il < c.layers(); il++) {
            kv[il] = c.kvHeads(il);
        }
        m.put(Key.HEAD_COUNT_KV.key(), GgufValue.ofInt32Array(kv));
        m.put(Key.ROPE_FREQ_BASE.key(), GgufValue.ofFloat32(ROPE_BASE_FULL));
        m.put(Key.ROPE_FREQ_BASE_SWA.key(), GgufValue.ofFloat32(ROPE_BASE_SWA));
        m.put(Key.RMS_EPSILON.key(), GgufValue.ofFloat32(1e-6f));
        if (c.hasExperts()) {
            m.put(Key.EXPERT_COUNT.key(), GgufValue.ofUint32(c.experts()));
            m.put(Key.EXPERT_USED_COUNT.key(), GgufValue.ofUint32(c.expertsPerToken()));
        }
        m.put(Key.KEY_LENGTH.key(), GgufValue.ofUint32(c.headDimFull()));
        m.put(Key.VALUE_LENGTH.key(), GgufValue.ofUint32(c.headDimFull()));
        m.put("general.file_type", GgufValue.ofUint32(type.fileType()));
        m.put(Key.FINAL_LOGIT_SOFTCAPPING.key(), GgufValue.ofFloat32(SOFTCAP));
        m.put(Key.SLIDING_WINDOW.key(), GgufValue.ofUint32(c.slidingWindow()));
        m.put(Key.SHARED_KV_LAYERS.key(), GgufValue.ofUint32(0));
        m.put(Key.EMBEDDING_LENGTH_PER_LAYER_INPUT.key(), GgufValue.ofUint32(0));
        m.put(Key.SLIDING_WINDOW_PATTERN.key(), GgufValue.ofBoolArray(c.slidingPattern()));
        m.put(Key.KEY_LENGTH_SWA.key(), GgufValue.ofUint32(c.headDimSwa()));
        m.put(Key.VALUE_LENGTH_SWA.key(), GgufValue.ofUint32(c.headDimSwa()));
        if (c.hasExperts()) {
            m.put(Key.EXPERT_FEED_FORWARD_LENGTH.key(), GgufValue.ofUint32(c.expertWidth()));
        }
        m.put(Key.ROPE_DIMENSION_COUNT.key(), GgufValue.ofUint32(c.headDimFull()));
        m.put(Key.ROPE_DIMENSION_COUNT_SWA.key(), GgufValue.ofUint32(c.headDimSwa()));
        m.put("general.quantization_version", GgufValue.ofUint32(2));
        m.put("tokenizer.ggml.model", GgufValue.ofString("gemma4"));
        m.put("tokenizer.ggml.tokens", GgufValue.ofStringArray(v.tokens()));
        m.put("tokenizer.ggml.scores", GgufValue.ofFloat32Array(v.scores()));
        m.put("tokenizer.ggml.token_type", GgufValue.ofInt32Array(v.types()));
        m.put("tokenizer.ggml.merges", GgufValue.ofStringArray(v.merges()));
        m.put("tokenizer.ggml.bos_token_id", GgufValue.ofUint32(2));
        m.put("tokenizer.ggml.eos_token_id", GgufValue.ofUint32(1));
        m.put("tokenizer.ggml.unknown_token_id", GgufValue.ofUint32(3));
        m.put("tokenizer.ggml.padding_token_id", GgufValue.ofUint32(0));
        m.put("tokenizer.ggml.mask_token_id", GgufValue.ofUint32(4));
        m.put(KEY_CHAT_TEMPLATE, GgufValue.ofString(chatTemplate()));
        m.put("tokenizer.ggml.add_space_prefix", GgufValue.ofBool(false));
        m.put("tokenizer.ggml.add_bos_token", GgufValue.ofBool(true));
        return m;
    }

    /** The official Gemma 4 chat template, byte-exact (see the README next to the resource). */
    public static String chatTemplate() {
        try (InputStream in = SynthModel.class.getResourceAsStream("gemma4-chat-template.jinja")) {
            if (in == null) {
                throw new IllegalStateException("missing resource dev/gemma4j/synth/gemma4-chat-template.jinja");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // tensors

    private record Draft(String name, long[] shape, int layer, SynthTensor.Fill fill) {
    }

    private static List<SynthTensor> tensors(SynthConfig c, SynthType type) {
        List<Draft> d = new ArrayList<>();
        long D = c.width();
        boolean anyFull = false;
        for (int il = 0; il < c.layers(); il++) {
            anyFull |= !c.isSliding(il);
        }
        SynthTensor.Fill norm = new SynthTensor.Around(1.0, 0.2);
        double embStd = EMBEDDING_RMS / Math.sqrt(D);
        d.add(new Draft(TOKEN_EMBD, new long[] {D, c.vocab()}, -1, new SynthTensor.Normal(embStd)));
        if (c.untiedOutput()) {
            d.add(new Draft(OUTPUT, new long[] {D, c.vocab()}, -1, new SynthTensor.Normal(embStd)));
        }
        double logitScale = LOGIT_STD / EMBEDDING_RMS;
        d.add(new Draft(OUTPUT_NORM, new long[] {D}, -1, new SynthTensor.Around(logitScale, 0.1 * logitScale)));
        if (anyFull) {
            int pairs = c.headDimFull() / 2;
            int rotated = (int) (c.headDimFull() * SynthConfig.FULL_ROTARY_FRACTION / 2);
            float[] f = new float[pairs];
            for (int i = 0; i < pairs; i++) {
                f[i] = i < rotated ? 1.0f : 1e30f;
            }
            d.add(new Draft(ROPE_FREQS, new long[] {pairs}, -1, new SynthTensor.Values(f)));
        }
        for (int il = 0; il < c.layers(); il++) {
            long hd = c.headDim(il);
            long q = (long) c.heads() * hd;
            long kv = (long) c.kvHeads(il) * hd;
            long F = c.denseWidth();
            double qkNorm = Math.sqrt(ATTENTION_SCORE_STD / Math.sqrt(hd));
            d.add(new Draft(ATTN_NORM.of(il), new long[] {D}, il, norm));
            d.add(new Draft(ATTN_Q.of(il), new long[] {D, q}, il, new SynthTensor.Normal(1 / Math.sqrt(D))));
            d.add(new Draft(ATTN_K.of(il), new long[] {D, kv}, il, new SynthTensor.Normal(1 / Math.sqrt(D))));
            if (c.isSliding(il)) {
                d.add(new Draft(ATTN_V.of(il), new long[] {D, kv}, il, new SynthTensor.Normal(1 / Math.sqrt(D))));
            }
            d.add(new Draft(ATTN_OUTPUT.of(il), new long[] {q, D}, il, new SynthTensor.Normal(1 / Math.sqrt(q))));
            d.add(new Draft(ATTN_Q_NORM.of(il), new long[] {hd}, il, new SynthTensor.Around(qkNorm, 0.2 * qkNorm)));
            d.add(new Draft(ATTN_K_NORM.of(il), new long[] {hd}, il, new SynthTensor.Around(qkNorm, 0.2 * qkNorm)));
            d.add(new Draft(POST_ATTENTION_NORM.of(il), new long[] {D}, il, norm));
            d.add(new Draft(FFN_NORM.of(il), new long[] {D}, il, norm));
            d.add(new Draft(FFN_GATE.of(il), new long[] {D, F}, il, new SynthTensor.Normal(1 / Math.sqrt(D))));
            d.add(new Draft(FFN_UP.of(il), new long[] {D, F}, il, new SynthTensor.Normal(1 / Math.sqrt(D))));
            d.add(new Draft(FFN_DOWN.of(il), new long[] {F, D}, il, new SynthTensor.Normal(1 / Math.sqrt(F))));
            d.add(new Draft(POST_FFW_NORM.of(il), new long[] {D}, il, norm));
            d.add(new Draft(LAYER_OUTPUT_SCALE.of(il), new long[] {1}, il, new SynthTensor.Around(0.9, 0.1)));
            if (c.hasExperts()) {
                long E = c.experts();
                long I = c.expertWidth();
                d.add(new Draft(POST_FFW_NORM_1.of(il), new long[] {D}, il, norm));
                d.add(new Draft(FFN_GATE_INP.of(il), new long[] {D, E}, il, new SynthTensor.Normal(ROUTER_LOGIT_STD)));
                d.add(new Draft(FFN_GATE_INP_SCALE.of(il), new long[] {D}, il, new SynthTensor.Around(1.0, 0.3)));
                d.add(new Draft(PRE_FFW_NORM_2.of(il), new long[] {D}, il, norm));
                String gate = FFN_GATE_EXPS.of(il);
                String up = FFN_UP_EXPS.of(il);
                SynthTensor.Normal expertIn = new SynthTensor.Normal(1 / Math.sqrt(D));
                if (c.splitExperts()) {
                    d.add(new Draft(gate, new long[] {D, I, E}, il, expertIn));
                    d.add(new Draft(up, new long[] {D, I, E}, il, expertIn));
                } else {
                    d.add(new Draft(FFN_GATE_UP_EXPS.of(il), new long[] {D, 2 * I, E}, il,
                        new SynthTensor.MergedGateUp(expertIn.std(), gate, up, (int) I)));
                }
                d.add(new Draft(FFN_DOWN_EXPS.of(il), new long[] {I, D, E}, il, new SynthTensor.Normal(1 / Math.sqrt(I))));
                d.add(new Draft(FFN_DOWN_EXPS_SCALE.of(il), new long[] {E}, il, new SynthTensor.Around(1.0, 0.5)));
                d.add(new Draft(POST_FFW_NORM_2.of(il), new long[] {D}, il, norm));
            }
        }
        // llama.cpp's loader (and so llama-quantize) walks tensors by layer, then by name: write them so
        d.sort(Comparator.comparingInt(Draft::layer).thenComparing(Draft::name));
        int attnV = 0;
        for (Draft x : d) {
            if (SynthType.category(x.name) == SynthType.Category.ATTN_V) {
                attnV++;
            }
        }
        SynthType.ModelFacts facts = new SynthType.ModelFacts(!c.untiedOutput(), c.hasExperts() ? c.experts() : 0, c.layers(), attnV);
        List<SynthTensor> out = new ArrayList<>(d.size());
        int vIndex = 0;
        for (Draft x : d) {
            GgmlType t = type.tensorType(x.name, x.shape, x.layer, vIndex, facts);
            if (SynthType.category(x.name) == SynthType.Category.ATTN_V) {
                vIndex++;
            }
            out.add(new SynthTensor(x.name, x.shape, t, x.layer, x.fill));
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------------
    // writing

    /** Bytes of encoded rows per work item: big enough to amortise scheduling, small enough to bound memory. */
    private static final int CHUNK_BYTES = 1 << 21;

    /**
     * Writes the model, generating and encoding rows on {@code threads} threads while one thread writes
     * them in order; memory stays bounded by a few chunks per thread whatever the model size.
     */
    public static Summary write(Plan plan, Path path, int threads) throws IOException {
        for (SynthTensor t : plan.tensors()) {
            TensorFormat f;
            try {
                f = TensorFormat.of(t.type());
            } catch (UnsupportedTensorTypeException e) {
                throw new IllegalArgumentException("cannot write " + plan.type() + ": tensor " + t.name() + " needs "
                    + t.type() + ", which has no format implementation yet");
            }
            if (!f.canQuantize()) {
                throw new IllegalArgumentException("cannot write " + plan.type() + ": tensor " + t.name() + " needs "
                    + t.type() + ", which has no quantizer yet");
            }
        }
        long start = System.nanoTime();
        int n = Math.max(1, threads);
        ExecutorService pool = Executors.newFixedThreadPool(n, r -> {
            Thread th = new Thread(r, "synth-encode");
            th.setDaemon(true);
            return th;
        });
        try {
            GgufWriter w = new GgufWriter();
            plan.metadata().forEach(w::put);
            for (SynthTensor t : plan.tensors()) {
                w.addTensor(t.name(), t.type(), t.shape(), out -> stream(t, plan.seed(), pool, 2 * n + 2, out));
            }
            w.write(path);
        } finally {
            pool.shutdownNow();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new Summary(path, Files.size(path), plan.parameterCount(), plan.tensors().size(), seconds, plan.typeCounts());
    }

    static void stream(SynthTensor t, long seed, ExecutorService pool, int maxInFlight, OutputStream out) throws IOException {
        if (SynthWeights.pooled(t)) {
            streamPooled(t, seed, pool, out);
            return;
        }
        int n = (int) t.rowLength();
        long rowBytes = t.type().rowBytes(n);
        long rows = t.rows();
        int chunkRows = (int) Math.max(1, Math.min(rows, CHUNK_BYTES / Math.max(rowBytes, 4L * n)));
        TensorFormat format = TensorFormat.of(t.type());
        ArrayDeque<Future<byte[]>> inFlight = new ArrayDeque<>();
        for (long first = 0; first < rows; first += chunkRows) {
            long from = first;
            int count = (int) Math.min(chunkRows, rows - first);
            inFlight.add(pool.submit(() -> encode(t, seed, format, from, count, n, (int) rowBytes)));
            if (inFlight.size() >= maxInFlight) {
                out.write(take(inFlight));
            }
        }
        while (!inFlight.isEmpty()) {
            out.write(take(inFlight));
        }
    }

    /** Encodes each source's row pool once (in parallel), then writes every row as a copy of its pool row. */
    private static void streamPooled(SynthTensor t, long seed, ExecutorService pool, OutputStream out) throws IOException {
        int n = (int) t.rowLength();
        int rowBytes = (int) t.type().rowBytes(n);
        TensorFormat format = TensorFormat.of(t.type());
        double std = SynthWeights.std(t);
        Map<String, byte[]> pools = new LinkedHashMap<>();
        int chunkRows = Math.max(1, Math.min(SynthWeights.POOL_ROWS, CHUNK_BYTES / Math.max(rowBytes, 4 * n)));
        for (String name : SynthWeights.sources(t)) {
            byte[] encoded = new byte[Math.multiplyExact(SynthWeights.POOL_ROWS, rowBytes)];
            List<Future<?>> parts = new ArrayList<>();
            for (int first = 0; first < SynthWeights.POOL_ROWS; first += chunkRows) {
                int from = first;
                int count = Math.min(chunkRows, SynthWeights.POOL_ROWS - first);
                parts.add(pool.submit(() -> {
                    float[] row = new float[n];
                    MemorySegment dst = MemorySegment.ofArray(encoded);
                    for (int i = from; i < from + count; i++) {
                        SynthWeights.sourceRow(name, i, seed, std, row, n);
                        format.quantize(row, 0, n, dst, (long) i * rowBytes);
                    }
                }));
            }
            for (Future<?> f : parts) {
                waitFor(f);
            }
            pools.put(name, encoded);
        }
        long rows = t.rows();
        for (long r = 0; r < rows; r++) {
            SynthWeights.SourceRow s = SynthWeights.source(t, r);
            int p = SynthWeights.poolIndex(seed, s.name(), s.row());
            out.write(pools.get(s.name()), p * rowBytes, rowBytes);
        }
    }

    private static void waitFor(Future<?> f) throws IOException {
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while writing");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException(c);
        }
    }

    private static byte[] encode(SynthTensor t, long seed, TensorFormat format, long firstRow, int count, int n, int rowBytes) {
        float[] row = new float[n];
        byte[] bytes = new byte[Math.multiplyExact(count, rowBytes)];
        MemorySegment dst = MemorySegment.ofArray(bytes);
        for (int i = 0; i < count; i++) {
            SynthWeights.row(t, seed, firstRow + i, row);
            format.quantize(row, 0, n, dst, (long) i * rowBytes);
        }
        return bytes;
    }

    private static byte[] take(ArrayDeque<Future<byte[]>> inFlight) throws IOException {
        Future<byte[]> f = inFlight.poll();
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while writing");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException(c);
        }
    }
}
