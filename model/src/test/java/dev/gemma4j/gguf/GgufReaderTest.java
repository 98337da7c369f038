package dev.gemma4j.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemma4j.tensor.GgmlType;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GgufReaderTest {
    @TempDir
    Path dir;

    @Test
    void everyValueTypeRoundTripsThroughWriterAndReader() throws IOException {
        GgufWriter w = new GgufWriter();
        Map<String, GgufValue> expected = GgufSamples.everyValueType();
        expected.forEach(w::put);
        Path p = dir.resolve("values.gguf");
        w.write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(3, f.version());
            assertEquals(List.copyOf(expected.keySet()), List.copyOf(f.metadata().keySet()), "key order is file order");
            for (Map.Entry<String, GgufValue> e : expected.entrySet()) {
                assertEquals(e.getValue(), f.get(e.getKey()), e.getKey());
            }
            // accessors on the values read back
            assertEquals(255, f.get("test.u8").asLong());
            assertEquals(-128, f.get("test.i8").asLong());
            assertEquals(4_000_000_000L, f.get("test.u32").asLong());
            assertEquals(0.1f, f.get("test.f32").asFloat());
            assertEquals(-1.0e-300, f.get("test.f64").asDouble());
            assertEquals("sample ✓ ünïcödé 😀", f.get("general.name").asString());
            assertEquals("gemma4", f.architecture());
            assertArrayEquals(new String[] {"a", "", "▁hello", "<0x0A>", "日本語"}, f.get("test.arr_str").asStringArray());
            assertArrayEquals(new int[] {-1, 0, Integer.MAX_VALUE, Integer.MIN_VALUE}, f.get("test.arr_i32").asIntArray());
            assertArrayEquals(new float[] {1.5f, -0.0f, Float.MIN_VALUE, 3.4e38f}, f.get("test.arr_f32").asFloatArray());
            GgufValue nested = f.get("test.arr_nested");
            assertEquals("ARRAY[ARRAY]", nested.describe());
            assertArrayEquals(new String[] {"x", "yz"}, nested.asArrayArray()[1].asStringArray());
            assertEquals(GgufValueType.FLOAT32, nested.asArrayArray()[2].asArrayArray()[1].elementType());
            assertEquals(0, f.get("test.arr_empty").length());
            assertTrue(f.tensors().isEmpty());
            assertNull(f.get("no.such.key"));
        }
    }

    @Test
    void tensorsRoundTripWithTheirBytesThroughTheMapping() throws IOException {
        Path p = dir.resolve("model.gguf");
        GgufSamples.smallModel(32).write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(5, f.tensors().size());
            TensorInfo q = f.tensor("token_embd.weight");
            assertEquals(GgmlType.Q8_0, q.type());
            assertArrayEquals(new long[] {64, 7}, q.shape());
            assertEquals(7 * 2 * 34, q.byteSize());
            assertArrayEquals(GgufSamples.randomBytes(1, 7 * 2 * 34), f.tensorData(q).toArray(ValueLayout.JAVA_BYTE));
            TensorInfo k = f.tensor("blk.0.ffn_gate_exps.weight");
            assertArrayEquals(new long[] {256, 2, 3}, k.shape());
            assertEquals(6, k.rows());
            assertArrayEquals(GgufSamples.randomBytes(3, 6 * 144), f.tensorData(k).toArray(ValueLayout.JAVA_BYTE));
            TensorInfo n = f.tensor("blk.1.attn_norm.weight");
            assertArrayEquals(new float[] {1, 2, 3, 4, 5},
                f.tensorData(n).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN)));
            assertNull(f.tensor("missing"));
            long expectedBytes = 64 * 4 + 7 * 2 * 34 + 64 * 3 * 2 + 6 * 144 + 5 * 4;
            assertEquals(expectedBytes, f.totalTensorBytes());
            assertEquals(64 + 64 * 7 + 64 * 3 + 256 * 6 + 5, f.totalElements());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {32, 64, 256})
    void alignmentPlacesTheDataAreaAndEveryTensorOnItsMultiples(int alignment) throws IOException {
        Path p = dir.resolve("aligned-" + alignment + ".gguf");
        GgufSamples.smallModel(alignment).write(p);
        byte[] file = Files.readAllBytes(p);
        GgufReader.Header h = GgufReader.readHeader(p, java.lang.foreign.MemorySegment.ofArray(file));
        assertEquals(alignment, h.alignment());
        assertEquals(0, h.dataStart() % alignment);
        long expectedOffset = 0;
        for (TensorInfo t : h.tensors()) {
            assertEquals(expectedOffset, t.offset(), t.name() + " is packed at the next multiple of the alignment");
            expectedOffset = (t.offset() + t.byteSize() + alignment - 1) / alignment * alignment;
        }
        assertEquals(h.dataStart() + expectedOffset, file.length, "the file ends with the last tensor's padding");
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(alignment, f.alignment());
            if (alignment != 32) {
                assertEquals(GgufValueType.UINT32, f.get("general.alignment").type());
            }
            assertArrayEquals(GgufSamples.randomBytes(2, 64 * 3 * 2),
                f.tensorData(f.tensor("blk.0.attn_q.weight")).toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void dataAreaNeedsNoPaddingWhenTheInfoTableEndsAligned() throws IOException {
        // header 4+4+8+8 = 24, one tensor info with an 8-byte name: 8+8 + 4+8 + 4 + 8 = 40 -> 64, already aligned
        byte[] file = new LeBytes().magic().u32(3).u64(1).u64(0)
            .tensor("abcdefgh", new long[] {8}, 0, 0)
            .bytes(GgufSamples.f32Bytes(1, 2, 3, 4, 5, 6, 7, 8)).toArray();
        GgufReader.Header h = GgufReader.readHeader(Path.of("x.gguf"), java.lang.foreign.MemorySegment.ofArray(file));
        assertEquals(64, h.dataStart());
        assertEquals(32, h.data().byteSize());
    }

    @Test
    void readsAHandWrittenVersion2File() throws IOException {
        // v2 has the same layout as v3 (u64 counts and lengths); written here without GgufWriter.
        LeBytes b = new LeBytes().magic().u32(2).u64(2).u64(3)
            .str("general.architecture").u32(8).str("gemma4")
            .str("gemma4.block_count").u32(4).u32(30)
            .str("tokenizer.ggml.scores").u32(9).u32(6).u64(2).u32(Float.floatToIntBits(-1000f)).u32(Float.floatToIntBits(0.5f))
            .tensor("a.weight", new long[] {4, 2}, 0, 0)
            .tensor("b.weight", new long[] {32}, 8, 32);
        b.pad(32);
        long dataStart = b.size();
        b.bytes(GgufSamples.f32Bytes(1, 2, 3, 4, 5, 6, 7, 8)).bytes(GgufSamples.randomBytes(9, 34)).pad(32);
        Path p = dir.resolve("v2.gguf");
        Files.write(p, b.toArray());
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(2, f.version());
            assertEquals("gemma4", f.architecture());
            assertEquals(30, f.get("gemma4.block_count").asInt());
            assertEquals(GgufValueType.UINT32, f.get("gemma4.block_count").type());
            assertArrayEquals(new float[] {-1000f, 0.5f}, f.get("tokenizer.ggml.scores").asFloatArray());
            assertEquals(2, f.tensors().size());
            assertEquals(dataStart, GgufReader.readHeader(p, java.lang.foreign.MemorySegment.ofArray(Files.readAllBytes(p))).dataStart());
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, f.tensorData(f.tensor("a.weight"))
                .toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN)));
            assertArrayEquals(GgufSamples.randomBytes(9, 34), f.tensorData(f.tensor("b.weight")).toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void writerStoresAlignmentAsUint32AndRejectsBadValues() {
        GgufWriter w = new GgufWriter();
        w.put("general.alignment", GgufValue.ofUint64(64));
        assertEquals(GgufValueType.UINT32, w.metadata().get("general.alignment").type());
        assertEquals(64, w.alignment());
        assertThrows(IllegalArgumentException.class, () -> w.put("general.alignment", GgufValue.ofUint32(48)));
        assertThrows(IllegalArgumentException.class, () -> w.put("general.alignment", GgufValue.ofString("32")));
    }

    @Test
    void writerRejectsBadTensorsAndValuesThatDoNotFitTheirType() {
        GgufWriter w = new GgufWriter();
        w.addF32("a", new long[] {2}, new float[2]);
        assertThrows(IllegalArgumentException.class, () -> w.addF32("a", new long[] {2}, new float[2]));
        assertThrows(IllegalArgumentException.class, () -> w.addBytes("q", GgmlType.Q8_0, new long[] {33}, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> w.addBytes("z", GgmlType.F32, new long[] {0}, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> w.addBytes("d", GgmlType.F32, new long[] {1, 1, 1, 1, 1}, new byte[4]));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.ofInteger(GgufValueType.UINT8, 256));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.ofInteger(GgufValueType.UINT32, -1));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.ofIntegerArray(GgufValueType.INT16, new long[] {40000}));
    }

    @Test
    void writerFailsWhenASourceWritesTheWrongNumberOfBytes() {
        GgufWriter w = new GgufWriter();
        w.addBytes("short", GgmlType.F32, new long[] {4}, new byte[12]);
        IOException e = assertThrows(IOException.class, () -> w.write(dir.resolve("bad.gguf")));
        assertTrue(e.getMessage().contains("short"), e.getMessage());
    }

    @Test
    void largeVocabularyArraysRoundTrip() throws IOException {
        int nTokens = 262_144;
        String[] tokens = new String[nTokens];
        long[] types = new long[nTokens];
        double[] scores = new double[nTokens];
        for (int i = 0; i < nTokens; i++) {
            tokens[i] = i < 256 ? String.format("<0x%02X>", i) : "▁tok" + i;
            types[i] = i < 256 ? 6 : 1;
            scores[i] = -1000;
        }
        String[] merges = new String[514_906];
        for (int i = 0; i < merges.length; i++) {
            merges[i] = "▁t" + (i % 1000) + " ok" + i;
        }
        GgufWriter w = new GgufWriter();
        w.put("tokenizer.ggml.tokens", GgufValue.ofStringArray(tokens));
        w.put("tokenizer.ggml.token_type", GgufValue.ofIntegerArray(GgufValueType.INT32, types));
        w.put("tokenizer.ggml.scores", GgufValue.ofFloatArray(GgufValueType.FLOAT32, scores));
        w.put("tokenizer.ggml.merges", GgufValue.ofStringArray(merges));
        Path p = dir.resolve("vocab.gguf");
        w.write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertArrayEquals(tokens, f.get("tokenizer.ggml.tokens").asStringArray());
            assertArrayEquals(merges, f.get("tokenizer.ggml.merges").asStringArray());
            assertArrayEquals(types, f.get("tokenizer.ggml.token_type").asLongArray());
            assertEquals(nTokens, f.get("tokenizer.ggml.scores").length());
        }
    }

    @Test
    void zeroTensorsAreWrittenAsHolesOfTheRightLength() throws IOException {
        GgufWriter w = new GgufWriter();
        w.addZeros("big", GgmlType.Q4_K, new long[] {2816, 704, 8});
        w.addF32("small", new long[] {3}, new float[] {1, 2, 3});
        w.addZeros("last", GgmlType.F32, new long[] {64});
        Path p = dir.resolve("holes.gguf");
        w.write(p);
        try (GgufFile f = GgufFile.open(p)) {
            TensorInfo big = f.tensor("big");
            assertEquals(2816 / 256 * 144 * 704 * 8, big.byteSize());
            MemorySegmentCheck.allZero(f.tensorData(big));
            assertArrayEquals(new float[] {1, 2, 3}, f.tensorData(f.tensor("small"))
                .toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN)));
            MemorySegmentCheck.allZero(f.tensorData(f.tensor("last")));
            assertEquals(Files.size(p), f.tensor("last").offset() + 256 + GgufReader.readHeader(p,
                java.lang.foreign.MemorySegment.ofArray(Files.readAllBytes(p))).dataStart());
        }
    }

    private static final class MemorySegmentCheck {
        static void allZero(java.lang.foreign.MemorySegment s) {
            for (long i = 0; i < s.byteSize(); i += 4096) {
                assertEquals(0, s.get(ValueLayout.JAVA_BYTE, i));
            }
            assertEquals(0, s.get(ValueLayout.JAVA_BYTE, s.byteSize() - 1));
        }
    }

    @Test
    void stringArraysDecodeOnUseAndCopyByteExactEvenWithBrokenUtf8() throws IOException {
        byte[] partial = {(byte) 0xE2, (byte) 0x96}; // the first two bytes of U+2581, as in a byte-level token
        byte[] file = new LeBytes().magic().u32(3).u64(0).u64(1)
            .str("tokenizer.ggml.tokens").u32(9).u32(8).u64(3)
            .str("▁a").u64(2).bytes(partial).str("").toArray();
        Path p = dir.resolve("utf8.gguf");
        Files.write(p, file);
        Path copy = dir.resolve("utf8-copy.gguf");
        try (GgufFile f = GgufFile.open(p)) {
            GgufValue tokens = f.get("tokenizer.ggml.tokens");
            assertEquals(3, tokens.length());
            assertEquals("▁a", tokens.stringAt(0));
            assertEquals("\uFFFD", tokens.stringAt(1));
            assertArrayEquals(new String[] {"▁a", "\uFFFD", ""}, tokens.asStringArray());
            GgufWriter.copyOf(f).write(copy);
            assertEquals("", tokens.stringAt(2));
        }
        assertArrayEquals(file, Files.readAllBytes(copy), "stored bytes are copied, not re-encoded");
    }

    @Test
    void openingAMissingFileOrADirectoryFailsCleanly() {
        assertThrows(java.nio.file.NoSuchFileException.class, () -> GgufFile.open(dir.resolve("absent.gguf")));
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(dir));
        assertNotNull(e.file());
    }

    @Test
    void copyOfReproducesTheModel() throws IOException {
        Path a = dir.resolve("a.gguf");
        GgufSamples.smallModel(64).write(a);
        Path b = dir.resolve("b.gguf");
        try (GgufFile f = GgufFile.open(a)) {
            GgufWriter.copyOf(f).write(b);
        }
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
        List<String> names = new ArrayList<>();
        try (GgufFile f = GgufFile.open(b)) {
            f.tensors().forEach(t -> names.add(t.name()));
        }
        assertEquals(List.of("output_norm.weight", "token_embd.weight", "blk.0.attn_q.weight",
            "blk.0.ffn_gate_exps.weight", "blk.1.attn_norm.weight"), names);
    }
}
