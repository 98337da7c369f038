package dev.gemma4j.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gemma4j.tensor.GgmlType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GgufSplitTest {
    @TempDir
    Path dir;

    private static String fileName(Path p) {
        return p.getFileName().toString();
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3})
    void splitModelOpensFromAnyShardWithMetadataFromTheFirstAndTensorsFromAll(int shards) throws IOException {
        GgufWriter w = GgufSamples.smallModel(64);
        int perShard = (w.tensorCount() + shards - 1) / shards; // 5 tensors: 3+2 or 2+2+1
        List<Path> paths = w.writeSplit(dir.resolve("model.gguf"), perShard, Long.MAX_VALUE);
        assertEquals(shards, paths.size());
        for (int i = 0; i < shards; i++) {
            assertEquals(String.format("model-%05d-of-%05d.gguf", i + 1, shards), fileName(paths.get(i)));
        }
        // every shard is a complete GGUF file with its own split keys; later shards carry only those (+ alignment)
        for (int i = 0; i < shards; i++) {
            GgufReader.Header h = GgufReader.readHeader(paths.get(i), MemorySegment.ofArray(Files.readAllBytes(paths.get(i))));
            assertEquals(GgufValueType.UINT16, h.metadata().get("split.no").type());
            assertEquals(i, h.metadata().get("split.no").asLong());
            assertEquals(GgufValueType.UINT16, h.metadata().get("split.count").type());
            assertEquals(GgufValueType.INT32, h.metadata().get("split.tensors.count").type());
            assertEquals(5, h.metadata().get("split.tensors.count").asLong());
            if (i > 0) {
                assertEquals(List.of("general.alignment", "split.no", "split.count", "split.tensors.count"),
                    List.copyOf(h.metadata().keySet()));
                assertEquals(0, h.tensors().get(0).offset(), "offsets count from each shard's own data area");
            }
        }
        for (Path open : paths) {
            try (GgufFile f = GgufFile.open(open)) {
                assertEquals(paths, f.shardPaths());
                assertEquals(paths.get(0), f.path());
                assertEquals("gemma4", f.architecture());
                assertEquals(64, f.alignment());
                assertEquals(5, f.tensors().size());
                assertEquals(shards - 1, f.tensor("blk.1.attn_norm.weight").shard());
                assertArrayEquals(GgufSamples.randomBytes(3, 6 * 144),
                    f.tensorData(f.tensor("blk.0.ffn_gate_exps.weight")).toArray(ValueLayout.JAVA_BYTE));
                assertArrayEquals(GgufSamples.randomBytes(1, 7 * 2 * 34),
                    f.tensorData(f.tensor("token_embd.weight")).toArray(ValueLayout.JAVA_BYTE));
                assertArrayEquals(new float[] {1, 2, 3, 4, 5}, f.tensorData(f.tensor("blk.1.attn_norm.weight"))
                    .toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN)));
            }
        }
    }

    @Test
    void splittingBySizeStartsANewShardBeforeATensorThatWouldNotFit() throws IOException {
        GgufWriter w = new GgufWriter();
        for (int i = 0; i < 5; i++) {
            w.addBytes("t" + i, GgmlType.I8, new long[] {100}, GgufSamples.randomBytes(i, 100));
        }
        // each tensor takes 128 bytes with padding: 256 bytes per shard -> 2 + 2 + 1
        List<Path> paths = w.writeSplit(dir.resolve("sized"), Integer.MAX_VALUE, 256);
        assertEquals(3, paths.size());
        try (GgufFile f = GgufFile.open(paths.get(2))) {
            assertEquals(List.of(0, 0, 1, 1, 2), f.tensors().stream().map(TensorInfo::shard).toList());
            for (int i = 0; i < 5; i++) {
                assertArrayEquals(GgufSamples.randomBytes(i, 100), f.tensorData(f.tensor("t" + i)).toArray(ValueLayout.JAVA_BYTE));
                // fileOffset points at the same bytes in the tensor's own shard file
                TensorInfo t = f.tensor("t" + i);
                byte[] file = java.nio.file.Files.readAllBytes(f.shardPaths().get(t.shard()));
                assertArrayEquals(GgufSamples.randomBytes(i, 100),
                    java.util.Arrays.copyOfRange(file, (int) f.fileOffset(t), (int) f.fileOffset(t) + 100));
            }
        }
    }

    @Test
    void resplittingAnOpenModelAndJoiningItBackGivesTheSameBytes() throws IOException {
        Path single = dir.resolve("single.gguf");
        GgufSamples.smallModel(32).write(single);
        List<Path> parts;
        try (GgufFile f = GgufFile.open(single)) {
            parts = GgufWriter.copyOf(f).writeSplit(dir.resolve("parts.gguf"), 2, Long.MAX_VALUE);
        }
        assertEquals(3, parts.size());
        Path joined = dir.resolve("joined.gguf");
        try (GgufFile f = GgufFile.open(parts.get(1))) {
            GgufWriter.copyOf(f).write(joined);
        }
        assertArrayEquals(Files.readAllBytes(single), Files.readAllBytes(joined));
    }

    @Test
    void aFileNamedLikeAShardWithoutSplitKeysIsASingleFile() throws IOException {
        Path p = dir.resolve("lonely-00002-of-00003.gguf");
        GgufSamples.smallModel(32).write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(List.of(p), f.shardPaths());
            assertNull(f.get("split.count"));
        }
    }

    @Test
    void missingShardIsReportedWithItsName() throws IOException {
        List<Path> paths = GgufSamples.smallModel(32).writeSplit(dir.resolve("m.gguf"), 2, Long.MAX_VALUE);
        Files.delete(paths.get(1));
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> GgufFile.open(paths.get(0)));
        assertEquals(paths.get(1).toString(), e.getFile());
        assertTrue(e.getReason().contains("shard 2 of 3"), e.getReason());
    }

    /** Writes one shard by hand (with explicit split keys) so that shards can disagree. */
    private Path shard(String name, int no, int count, int tensorsCount, String... tensors) throws IOException {
        GgufWriter w = new GgufWriter();
        w.put("general.architecture", GgufValue.ofString("gemma4"));
        w.put("split.no", GgufValue.ofInteger(GgufValueType.UINT16, no));
        w.put("split.count", GgufValue.ofInteger(GgufValueType.UINT16, count));
        w.put("split.tensors.count", GgufValue.ofInt32(tensorsCount));
        for (String t : tensors) {
            w.addF32(t, new long[] {4}, new float[] {1, 2, 3, 4});
        }
        Path p = dir.resolve(String.format("%s-%05d-of-%05d.gguf", name, no + 1, count));
        w.write(p);
        return p;
    }

    @Test
    void wrongSplitNumberIsAFormatError() throws IOException {
        Path first = shard("wrongno", 0, 2, 2, "a");
        Path second = shard("wrongno", 1, 2, 2, "b");
        GgufWriter w = new GgufWriter();
        w.put("split.no", GgufValue.ofInteger(GgufValueType.UINT16, 0)); // should be 1
        w.put("split.count", GgufValue.ofInteger(GgufValueType.UINT16, 2));
        w.addF32("b", new long[] {4}, new float[4]);
        w.write(second);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(first));
        assertEquals(second, e.file());
        assertTrue(e.getMessage().contains("split.no is 0, expected 1"), e.getMessage());
        assertTrue(e.offset() > 0, "points at the split.no key");
    }

    @Test
    void tensorCountMismatchIsAFormatError() throws IOException {
        Path first = shard("count", 0, 2, 3, "a");
        shard("count", 1, 2, 3, "b");
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(first));
        assertTrue(e.getMessage().contains("split.tensors.count is 3 but the 2 shards hold 2 tensors"), e.getMessage());
    }

    @Test
    void shardsThatDisagreeOnTheCountOrRepeatATensorAreFormatErrors() throws IOException {
        Path first = shard("disagree", 0, 2, 2, "a");
        Path second = shard("disagree", 1, 2, 2, "b");
        GgufWriter w = new GgufWriter();
        w.put("split.no", GgufValue.ofInteger(GgufValueType.UINT16, 1));
        w.put("split.count", GgufValue.ofInteger(GgufValueType.UINT16, 3));
        w.addF32("b", new long[] {4}, new float[4]);
        w.write(second);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(first));
        assertTrue(e.getMessage().contains("split.count is 3, expected 2"), e.getMessage());

        Path dup = shard("dup", 0, 2, 2, "a");
        shard("dup", 1, 2, 2, "a");
        e = assertThrows(GgufFormatException.class, () -> GgufFile.open(dup));
        assertTrue(e.getMessage().contains("duplicate tensor name 'a'"), e.getMessage());
    }

    @Test
    void splitCountThatDoesNotMatchTheFileNameIsAFormatError() throws IOException {
        Path p = dir.resolve("plain.gguf");
        GgufWriter w = new GgufWriter();
        w.put("split.no", GgufValue.ofInteger(GgufValueType.UINT16, 0));
        w.put("split.count", GgufValue.ofInteger(GgufValueType.UINT16, 2));
        w.write(p);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(p));
        assertTrue(e.getMessage().contains("-of-00002.gguf"), e.getMessage());
        assertFalse(e.getMessage().isBlank());
    }
}
