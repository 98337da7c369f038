package dev.gemma4j.engine;

/** Element type of the KV cache: f32 is exact, f16 halves its memory (llama.cpp's default). */
public enum KvCacheType {
    F32, F16
}
