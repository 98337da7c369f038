package dev.gemma4j.gguf;

import dev.gemma4j.tensor.GgmlType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** Small GGUF models for tests: every metadata value type, nested arrays and a few tensors. */
public final class GgufSamples {
    private GgufSamples() {
    }

    /** One value of every scalar type and an array of every element type, including nested arrays. */
    public static Map<String, GgufValue> everyValueType() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("general.architecture", GgufValue.ofString("gemma4"));
        m.put("general.name", GgufValue.ofString("sample ✓ ünïcödé 😀"));
        m.put("test.empty_string", GgufValue.ofString(""));
        m.put("test.u8", GgufValue.ofInteger(GgufValueType.UINT8, 255));
        m.put("test.i8", GgufValue.ofInteger(GgufValueType.INT8, -128));
        m.put("test.u16", GgufValue.ofInteger(GgufValueType.UINT16, 65535));
        m.put("test.i16", GgufValue.ofInteger(GgufValueType.INT16, -32768));
        m.put("test.u32", GgufValue.ofUint32(4_000_000_000L));
        m.put("test.i32", GgufValue.ofInt32(-2_000_000_000));
        m.put("test.u64", GgufValue.ofUint64(1L << 53));
        m.put("test.i64", GgufValue.ofInt64(-(1L << 53)));
        m.put("test.f32", GgufValue.ofFloat32(0.1f));
        m.put("test.f64", GgufValue.ofFloat64(-1.0e-300));
        m.put("test.bool_true", GgufValue.ofBool(true));
        m.put("test.bool_false", GgufValue.ofBool(false));
        m.put("test.arr_u8", GgufValue.ofIntegerArray(GgufValueType.UINT8, new long[] {0, 1, 255}));
        m.put("test.arr_i8", GgufValue.ofIntegerArray(GgufValueType.INT8, new long[] {-128, 0, 127}));
        m.put("test.arr_u16", GgufValue.ofIntegerArray(GgufValueType.UINT16, new long[] {0, 65535}));
        m.put("test.arr_i16", GgufValue.ofIntegerArray(GgufValueType.INT16, new long[] {-32768, 32767}));
        m.put("test.arr_u32", GgufValue.ofIntegerArray(GgufValueType.UINT32, new long[] {0, 4_294_967_295L}));
        m.put("test.arr_i32", GgufValue.ofInt32Array(-1, 0, Integer.MAX_VALUE, Integer.MIN_VALUE));
        m.put("test.arr_u64", GgufValue.ofIntegerArray(GgufValueType.UINT64, new long[] {0, 1L << 40}));
        m.put("test.arr_i64", GgufValue.ofIntegerArray(GgufValueType.INT64, new long[] {-(1L << 40), 7}));
        m.put("test.arr_f32", GgufValue.ofFloat32Array(1.5f, -0.0f, Float.MIN_VALUE, 3.4e38f));
        m.put("test.arr_f64", GgufValue.ofFloatArray(GgufValueType.FLOAT64, new double[] {Math.PI, -1e300}));
        m.put("test.arr_bool", GgufValue.ofBoolArray(true, false, true));
        m.put("test.arr_str", GgufValue.ofStringArray("a", "", "▁hello", "<0x0A>", "日本語"));
        m.put("test.arr_empty", GgufValue.ofStringArray());
        m.put("test.arr_nested", GgufValue.ofArrayArray(
            GgufValue.ofInt32Array(1, 2, 3),
            GgufValue.ofStringArray("x", "yz"),
            GgufValue.ofArrayArray(GgufValue.ofBoolArray(true), GgufValue.ofFloat32Array())));
        return m;
    }

    /** Deterministic pseudo-random bytes. */
    public static byte[] randomBytes(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** F32 values as little-endian bytes. */
    public static byte[] f32Bytes(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return b.array();
    }

    /**
     * A small model: every value type, a tokenizer-like set of keys, and tensors of several types and
     * ranks (F32, F16, Q8_0, Q4_K) with deterministic contents.
     */
    public static GgufWriter smallModel(int alignment) {
        GgufWriter w = new GgufWriter();
        if (alignment != GgufReader.DEFAULT_ALIGNMENT) {
            w.put("general.alignment", GgufValue.ofUint32(alignment));
        }
        everyValueType().forEach(w::put);
        w.put("gemma4.block_count", GgufValue.ofUint32(2));
        w.put("gemma4.embedding_length", GgufValue.ofUint32(64));
        w.put("gemma4.attention.sliding_window_pattern", GgufValue.ofBoolArray(true, false));
        w.put("tokenizer.ggml.model", GgufValue.ofString("gemma4"));
        w.put("tokenizer.ggml.tokens", GgufValue.ofStringArray("<pad>", "<eos>", "<bos>", "<unk>", "a", "b", "ab"));
        w.put("tokenizer.ggml.token_type", GgufValue.ofInt32Array(3, 3, 3, 2, 1, 1, 1));
        w.put("tokenizer.ggml.merges", GgufValue.ofStringArray("a b"));
        w.put("tokenizer.ggml.bos_token_id", GgufValue.ofUint32(2));
        w.put("tokenizer.ggml.eos_token_id", GgufValue.ofUint32(1));
        w.addF32("output_norm.weight", new long[] {64}, new float[64]);
        w.addBytes("token_embd.weight", GgmlType.Q8_0, new long[] {64, 7}, randomBytes(1, 7 * 2 * 34));
        w.addBytes("blk.0.attn_q.weight", GgmlType.F16, new long[] {64, 3}, randomBytes(2, 64 * 3 * 2));
        w.addBytes("blk.0.ffn_gate_exps.weight", GgmlType.Q4_K, new long[] {256, 2, 3}, randomBytes(3, 6 * 144));
        w.addF32("blk.1.attn_norm.weight", new long[] {5}, new float[] {1, 2, 3, 4, 5});
        return w;
    }
}
