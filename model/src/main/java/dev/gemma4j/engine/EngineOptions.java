package dev.gemma4j.engine;

/**
 * How an engine runs a model.
 *
 * @param contextLength  tokens each session can hold (prompt + generated); the KV cache is sized for it
 * @param kvCacheType    element type of the KV cache
 * @param threads        worker threads of the engine's pool (the calling thread is one of them)
 * @param prefillChunk   prompt tokens pushed through the layers together (weights are streamed once per chunk)
 * @param batchInvariant every row's result is computed the same way whatever else is in its batch (one
 *                       session alone or with others), so a sequence's greedy output does not depend on what
 *                       shares its steps; costs some speed for single rows (the server turns it on)
 * @param mmap           the CPU engine reads its weights where the GGUF file is memory-mapped (true, as llama.cpp by
 *                       default: nothing is copied, the OS pages the file in and may share or drop it), or copies
 *                       them into the process's own memory when the engine opens (false, llama.cpp's
 *                       {@code --no-mmap}: the whole model resident for as long as the engine is open, no paging
 *                       while serving). Engines that upload the weights to a device ignore it.
 */
public record EngineOptions(int contextLength, KvCacheType kvCacheType, int threads, int prefillChunk,
                            boolean batchInvariant, boolean mmap) {

    public static final int DEFAULT_CONTEXT = 4096;
    public static final int DEFAULT_PREFILL_CHUNK = 128;

    /** Options with batch invariance off (the fastest kernels for each batch size), weights memory-mapped. */
    public EngineOptions(int contextLength, KvCacheType kvCacheType, int threads, int prefillChunk) {
        this(contextLength, kvCacheType, threads, prefillChunk, false, true);
    }

    /** Options with the weights memory-mapped. */
    public EngineOptions(int contextLength, KvCacheType kvCacheType, int threads, int prefillChunk, boolean batchInvariant) {
        this(contextLength, kvCacheType, threads, prefillChunk, batchInvariant, true);
    }

    public EngineOptions {
        if (contextLength < 1) {
            throw new IllegalArgumentException("context length must be at least 1, got " + contextLength);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        if (prefillChunk < 1) {
            throw new IllegalArgumentException("prefill chunk must be at least 1, got " + prefillChunk);
        }
        java.util.Objects.requireNonNull(kvCacheType, "kvCacheType");
    }

    /** Defaults: 4096 tokens of f32 cache, one thread per available processor, chunks of 128. */
    public static EngineOptions defaults() {
        return new EngineOptions(DEFAULT_CONTEXT, KvCacheType.F32, Runtime.getRuntime().availableProcessors(), DEFAULT_PREFILL_CHUNK);
    }

    public EngineOptions withContextLength(int n) {
        return new EngineOptions(n, kvCacheType, threads, prefillChunk, batchInvariant, mmap);
    }

    public EngineOptions withKvCacheType(KvCacheType t) {
        return new EngineOptions(contextLength, t, threads, prefillChunk, batchInvariant, mmap);
    }

    public EngineOptions withThreads(int n) {
        return new EngineOptions(contextLength, kvCacheType, n, prefillChunk, batchInvariant, mmap);
    }

    public EngineOptions withPrefillChunk(int n) {
        return new EngineOptions(contextLength, kvCacheType, threads, n, batchInvariant, mmap);
    }

    public EngineOptions withBatchInvariant(boolean on) {
        return new EngineOptions(contextLength, kvCacheType, threads, prefillChunk, on, mmap);
    }

    public EngineOptions withMmap(boolean on) {
        return new EngineOptions(contextLength, kvCacheType, threads, prefillChunk, batchInvariant, on);
    }
}
