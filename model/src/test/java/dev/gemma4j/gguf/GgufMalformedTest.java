package dev.gemma4j.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each kind of malformed input gives a GgufFormatException naming the file, the byte offset and what was expected. */
class GgufMalformedTest {
    private static final Path NAME = Path.of("bad.gguf");
    private static final long HUGE = 0x7FFF_FFFF_FFFF_FFF0L;

    @TempDir
    Path dir;

    private static GgufFormatException fails(byte[] file, long offset, String... fragments) {
        GgufFormatException e = assertThrows(GgufFormatException.class,
            () -> GgufReader.readHeader(NAME, MemorySegment.ofArray(file)));
        assertEquals(NAME, e.file());
        assertEquals(offset, e.offset(), e.getMessage());
        assertTrue(e.getMessage().startsWith("bad.gguf at byte " + offset + ": "), e.getMessage());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), () -> "'" + f + "' not in: " + e.getMessage());
        }
        return e;
    }

    private static LeBytes header(long tensors, long kvs) {
        return new LeBytes().magic().u32(3).u64(tensors).u64(kvs);
    }

    @Test
    void emptyAndTinyFiles() {
        fails(new byte[0], 0, "truncated", "GGUF");
        fails(new byte[] {'G', 'G'}, 0, "truncated");
        fails(new LeBytes().magic().toArray(), 4, "truncated", "version");
        fails(new LeBytes().magic().u32(3).u64(0).toArray(), 16, "truncated", "metadata count");
    }

    @Test
    void wrongMagicAndVersion() {
        fails(new LeBytes().bytes("GGML".getBytes()).u32(3).u64(0).u64(0).toArray(), 0, "bad magic", "expected \"GGUF\"");
        fails(new LeBytes().magic().u32(1).u64(0).u64(0).toArray(), 4, "unsupported GGUF version 1", "expected 2 or 3");
        fails(new LeBytes().magic().u32(4).u64(0).u64(0).toArray(), 4, "version 4");
        fails(new LeBytes().magic().u32(0x03000000).u64(0).u64(0).toArray(), 4, "big-endian");
    }

    @Test
    void absurdCountsAreRejectedBeforeAnythingIsAllocated() {
        fails(header(0, HUGE).toArray(), 16, "metadata count");
        fails(header(HUGE, 0).toArray(), 8, "tensor count");
        fails(header(0, -1L).toArray(), 16, "18446744073709551615");
        fails(header(0, 1).str("k").u32(8).u64(HUGE).toArray(), 24 + 9 + 4, "value of 'k' length", "exceeds");
        fails(header(0, 1).u64(HUGE).bytes(new byte[16]).toArray(), 24, "metadata key 0 length");
        fails(header(0, 1).u64(1).toArray(), 16, "metadata count 1 is impossible: 8 bytes remain");
        fails(header(0, 1).str("arr").u32(9).u32(8).u64(HUGE).toArray(), 24 + 11 + 8, "array length", "'arr'");
        fails(header(0, 1).str("arr").u32(9).u32(0).u64(1_000_000).toArray(), 24 + 11 + 8, "array length 1000000");
    }

    @Test
    void unknownValueTypesAndBadBools() {
        fails(header(0, 1).str("k").u32(13).u32(0).toArray(), 24 + 9, "unknown value type 13 for key 'k'");
        fails(header(0, 1).str("k").u32(9).u32(77).u64(0).toArray(), 24 + 13, "unknown array element type 77");
        fails(header(0, 1).str("k").u32(7).u8(2).toArray(), 24 + 13, "bool", "expected 0 or 1");
        fails(header(0, 1).str("k").u32(9).u32(7).u64(2).u8(1).u8(9).toArray(), 24 + 13 + 12 + 1, "element 1 of 'k'");
    }

    @Test
    void arraysNestedTooDeep() {
        LeBytes b = header(0, 1).str("deep").u32(9);
        for (int i = 0; i < 20; i++) {
            b.u32(9).u64(1);
        }
        b.u32(0).u64(0);
        GgufFormatException e = fails(b.toArray(), 24 + 12 + 4 + 8 * 12, "nested deeper than 8");
        assertTrue(e.offset() > 0);
    }

    @Test
    void duplicateKeysAndTensors() {
        fails(header(0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(2).toArray(), 24 + 17, "duplicate metadata key 'k'", "first at byte 24");
        byte[] dupTensor = header(2, 0).tensor("t", new long[] {4}, 0, 0).tensor("t", new long[] {4}, 0, 32).pad(32)
            .bytes(new byte[64]).toArray();
        fails(dupTensor, 24 + 33, "duplicate tensor name 't'");
    }

    @Test
    void badAlignment() {
        fails(header(0, 1).str("general.alignment").u32(4).u32(48).toArray(), 24, "power of two", "48");
        fails(header(0, 1).str("general.alignment").u32(4).u32(0).toArray(), 24, "power of two");
        fails(header(0, 1).str("general.alignment").u32(8).str("32").toArray(), 24, "power of two", "STRING");
    }

    @Test
    void badTensorInfos() {
        long at = 24; // the single tensor info starts right after the header
        fails(header(1, 0).tensor("t", new long[] {}, 0, 0).bytes(new byte[64]).toArray(), at + 9, "0 dimensions", "expected 1..4");
        fails(header(1, 0).tensor("t", new long[] {1, 1, 1, 1, 1}, 0, 0).bytes(new byte[64]).toArray(), at + 9, "5 dimensions");
        fails(header(1, 0).tensor("t", new long[] {4, 0}, 0, 0).bytes(new byte[64]).toArray(), at + 21, "dimension 1 is 0");
        fails(header(1, 0).tensor("t", new long[] {-5}, 0, 0).bytes(new byte[64]).toArray(), at + 13, "dimension 0 is 18446744073709551611");
        fails(header(1, 0).tensor("t", new long[] {1L << 32, 1L << 32}, 0, 0).bytes(new byte[64]).toArray(), at + 21, "overflows");
        fails(header(1, 0).tensor("t", new long[] {1L << 40, 1L << 22}, 0, 0).bytes(new byte[64]).toArray(), at + 29, "byte size overflows");
        fails(header(1, 0).tensor("t", new long[] {4}, 99, 0).bytes(new byte[64]).toArray(), at + 21, "unknown ggml type id 99");
        fails(header(1, 0).tensor("t", new long[] {33}, 8, 0).bytes(new byte[64]).toArray(), at + 21, "Q8_0", "multiple of its block size 32");
        fails(header(1, 0).tensor("t", new long[] {4}, 0, 7).bytes(new byte[64]).toArray(), at + 25, "offset 7", "multiple of the alignment 32");
        fails(header(1, 0).tensor("t", new long[] {4}, 0, -32).bytes(new byte[64]).toArray(), at + 25, "offset 18446744073709551584");
    }

    @Test
    void tensorsOutOfBoundsOrOverlapping() {
        // data area starts at 64 and holds 32 bytes
        byte[] past = header(1, 0).tensor("t", new long[] {16}, 0, 0).pad(32).bytes(new byte[32]).toArray();
        fails(past, 24, "tensor 't' (64 bytes at data offset 0) runs past the end of the file", "holds 32 bytes");
        byte[] far = header(1, 0).tensor("t", new long[] {4}, 0, 1L << 40).pad(32).bytes(new byte[32]).toArray();
        fails(far, 24, "runs past the end");
        byte[] overlap = header(2, 0).tensor("a", new long[] {16}, 0, 0).tensor("b", new long[] {8}, 0, 32)
            .pad(32).bytes(new byte[96]).toArray();
        fails(overlap, 24 + 33, "tensor 'b' at data offset 32 overlaps tensor 'a', which ends at data offset 64");
        byte[] noData = header(1, 0).tensor("t", new long[] {4}, 0, 0).toArray();
        fails(noData, noData.length, "data area should start at byte 64");
    }

    @Test
    void tensorsInAnyOrderWithGapsAreAccepted() throws GgufFormatException {
        byte[] ok = header(2, 0).tensor("late", new long[] {8}, 0, 64).tensor("early", new long[] {8}, 0, 0)
            .pad(32).bytes(new byte[96]).toArray();
        GgufReader.Header h = GgufReader.readHeader(NAME, MemorySegment.ofArray(ok));
        assertEquals(64, h.tensors().get(0).offset());
    }

    @Test
    void metadataThatWouldExhaustTheHeapBudgetIsRejected() throws GgufFormatException {
        // 200k one-character strings: 1.8 MB on disk, about 11 MB of heap; with a budget of 4 MiB it must fail.
        LeBytes b = header(0, 1).str("tokens").u32(9).u32(8).u64(200_000);
        for (int i = 0; i < 200_000; i++) {
            b.str("x");
        }
        byte[] file = b.toArray();
        GgufFormatException e = assertThrows(GgufFormatException.class,
            () -> GgufReader.readHeader(NAME, MemorySegment.ofArray(file), 4 << 20));
        assertTrue(e.getMessage().contains("element") && e.getMessage().contains("'tokens'")
            && e.getMessage().contains("memory allowed for metadata"), e.getMessage());
        // a u64 array whose size alone exceeds the budget fails at its length field
        byte[] longs = header(0, 1).str("k").u32(9).u32(10).u64(1000).bytes(new byte[8000]).toArray();
        e = assertThrows(GgufFormatException.class, () -> GgufReader.readHeader(NAME, MemorySegment.ofArray(longs), 4000));
        assertEquals(24 + 9 + 8, e.offset());
        // the default budget takes the same file
        assertEquals(200_000, GgufReader.readHeader(NAME, MemorySegment.ofArray(file)).metadata().get("tokens").length());
    }

    @Test
    void errorsFromGgufFileNameTheFileOnDisk() throws IOException {
        Path p = dir.resolve("truncated.gguf");
        Path good = dir.resolve("good.gguf");
        GgufSamples.smallModel(32).write(good);
        byte[] all = Files.readAllBytes(good);
        Files.write(p, java.util.Arrays.copyOf(all, all.length - 100));
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(p));
        assertEquals(p, e.file());
        assertTrue(e.getMessage().startsWith(p + " at byte "), e.getMessage());
        assertTrue(e.getMessage().contains("runs past the end of the file"), e.getMessage());
    }
}
