package dev.gemma4j.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutates valid GGUF files (truncation at every length, random bytes, numeric header fields set to
 * extreme values) and checks that the reader either parses them into something self-consistent or fails
 * with a {@link GgufFormatException} pointing inside the file, and nothing else. Parsing is bounded by
 * construction: every step of the reader consumes file bytes, so no mutation can make it loop.
 */
class GgufFuzzTest {
    private static final Path NAME = Path.of("fuzz.gguf");
    private static final long SEED = 0x6765_6d6d_6134L;

    @TempDir
    static Path dir;

    private static byte[] model;
    private static Layout layout;

    /** A numeric header field: where it is and how wide. */
    record Field(long at, int width, String what) {
    }

    /** Field positions and section boundaries, found by a minimal walker independent of GgufReader. */
    record Layout(List<Field> fields, TreeSet<Long> boundaries, long headerEnd, long lastTensorEnd) {
    }

    @BeforeAll
    static void makeModel() throws IOException {
        Path p = dir.resolve("base.gguf");
        GgufSamples.smallModel(32).write(p);
        model = Files.readAllBytes(p);
        layout = walk(model);
    }

    static Layout walk(byte[] file) {
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        List<Field> fields = new ArrayList<>();
        TreeSet<Long> bounds = new TreeSet<>();
        fields.add(new Field(4, 4, "version"));
        fields.add(new Field(8, 8, "tensor count"));
        fields.add(new Field(16, 8, "kv count"));
        long nTensors = b.getLong(8);
        long nKv = b.getLong(16);
        b.position(24);
        bounds.add(0L);
        bounds.add(4L);
        bounds.add(8L);
        bounds.add(16L);
        bounds.add(24L);
        for (long i = 0; i < nKv; i++) {
            walkString(b, fields, "key");
            fields.add(new Field(b.position(), 4, "value type"));
            int type = b.getInt();
            walkValue(b, type, fields);
            bounds.add((long) b.position());
        }
        List<long[]> tensors = new ArrayList<>(); // {offset, bytes}
        for (long i = 0; i < nTensors; i++) {
            walkString(b, fields, "tensor name");
            fields.add(new Field(b.position(), 4, "n_dims"));
            int nd = b.getInt();
            for (int d = 0; d < nd; d++) {
                fields.add(new Field(b.position(), 8, "dim"));
                b.getLong();
            }
            fields.add(new Field(b.position(), 4, "ggml type"));
            b.getInt();
            fields.add(new Field(b.position(), 8, "tensor offset"));
            tensors.add(new long[] {b.getLong()});
            bounds.add((long) b.position());
        }
        long headerEnd = b.position();
        long dataStart = (headerEnd + 31) / 32 * 32;
        bounds.add(dataStart);
        for (long[] t : tensors) {
            bounds.add(dataStart + t[0]);
        }
        bounds.add((long) file.length);
        return new Layout(fields, bounds, headerEnd, file.length); // the writer pads each tensor; last pad is tiny
    }

    private static void walkString(ByteBuffer b, List<Field> fields, String what) {
        fields.add(new Field(b.position(), 8, what + " length"));
        long len = b.getLong();
        b.position(b.position() + (int) len);
    }

    private static void walkValue(ByteBuffer b, int type, List<Field> fields) {
        switch (type) {
            case 0, 1, 7 -> {
                fields.add(new Field(b.position(), 1, "u8 value"));
                b.get();
            }
            case 2, 3 -> {
                fields.add(new Field(b.position(), 2, "u16 value"));
                b.getShort();
            }
            case 4, 5, 6 -> {
                fields.add(new Field(b.position(), 4, "u32 value"));
                b.getInt();
            }
            case 10, 11, 12 -> {
                fields.add(new Field(b.position(), 8, "u64 value"));
                b.getLong();
            }
            case 8 -> walkString(b, fields, "string");
            case 9 -> {
                fields.add(new Field(b.position(), 4, "array type"));
                int et = b.getInt();
                fields.add(new Field(b.position(), 8, "array length"));
                long n = b.getLong();
                for (long i = 0; i < n; i++) {
                    walkValue(b, et, fields);
                }
            }
            default -> throw new IllegalStateException("walker: type " + type);
        }
    }

    /** Parses {@code file}; returns null on success or the clean error; fails the test on anything else. */
    private static GgufFormatException parse(byte[] file, String mutation) {
        try {
            GgufReader.Header h = GgufReader.readHeader(NAME, MemorySegment.ofArray(file));
            checkConsistent(h, file.length, mutation);
            return null;
        } catch (GgufFormatException e) {
            assertEquals(NAME, e.file(), mutation);
            assertTrue(e.offset() >= 0 && e.offset() <= file.length,
                () -> mutation + ": error offset " + e.offset() + " outside the file of " + file.length + " bytes: " + e.getMessage());
            assertNotNull(e.getMessage());
            return e;
        } catch (Throwable t) {
            throw new AssertionError(mutation + ": expected a GgufFormatException or a clean parse, got " + t, t);
        }
    }

    private static void checkConsistent(GgufReader.Header h, long size, String mutation) {
        assertTrue(h.dataStart() <= size || h.tensors().isEmpty(), mutation);
        assertEquals(0, h.tensors().isEmpty() ? 0 : h.dataStart() % h.alignment(), mutation);
        for (TensorInfo t : h.tensors()) {
            MemorySegment slice = h.data().asSlice(t.offset(), t.byteSize()); // must not throw
            assertEquals(t.byteSize(), slice.byteSize(), mutation);
            assertEquals(t.byteSize(), t.rows() * t.rowBytes(), mutation);
        }
        h.metadata().forEach((k, v) -> assertNotNull(v.describe() + v.toString().length(), mutation));
    }

    @Test
    void truncationAtEveryLengthIsACleanError() {
        assertTrue(layout.fields().size() > 100, "the walker found the header fields");
        for (int len = 0; len < model.length; len++) {
            byte[] cut = java.util.Arrays.copyOf(model, len);
            GgufFormatException e = parse(cut, "truncated to " + len);
            if (len < layout.lastTensorEnd() - 32) {
                assertNotNull(e, "truncation to " + len + " (inside the header or tensor data) must fail");
            }
        }
        // every section boundary is among the lengths tried; spell them out for the record
        assertTrue(layout.boundaries().size() > 40, layout.boundaries()::toString);
        assertTrue(layout.boundaries().last() == model.length);
    }

    @Test
    void randomByteMutationsGiveOnlyCleanErrors() {
        Random r = new Random(SEED);
        int failures = 0;
        for (int i = 0; i < 4000; i++) {
            byte[] m = model.clone();
            int n = 1 + r.nextInt(8);
            StringBuilder what = new StringBuilder("mutation " + i + ":");
            for (int k = 0; k < n; k++) {
                // mostly inside the header, where bytes have meaning
                int at = r.nextInt(10) < 9 ? r.nextInt((int) layout.headerEnd()) : r.nextInt(m.length);
                m[at] = (byte) r.nextInt(256);
                what.append(' ').append(at);
            }
            if (parse(m, what.toString()) != null) {
                failures++;
            }
        }
        assertTrue(failures > 1000, "most mutations of the header are errors: " + failures);
    }

    private static long interesting(Random r, Field f, long size) {
        long allOnes = f.width() == 8 ? -1L : (1L << (8 * f.width())) - 1;
        return switch (r.nextInt(12)) {
            case 0 -> 0;
            case 1 -> 1;
            case 2 -> allOnes;
            case 3 -> allOnes >>> 1;
            case 4 -> (allOnes >>> 1) + 1;
            case 5 -> size;
            case 6 -> size + 1;
            case 7 -> size - 1;
            case 8 -> 1L << (r.nextInt(8 * f.width()));
            case 9 -> r.nextLong() & allOnes;
            case 10 -> 0x7FFF_FFF0L;
            default -> r.nextInt(64);
        };
    }

    private static void setField(byte[] m, Field f, long v) {
        for (int i = 0; i < f.width(); i++) {
            m[(int) f.at() + i] = (byte) (v >>> (8 * i));
        }
    }

    @Test
    void headerFieldsSetToExtremeValuesGiveOnlyCleanErrors() {
        Random r = new Random(SEED + 1);
        List<Field> fields = layout.fields();
        int failures = 0;
        for (int i = 0; i < 4000; i++) {
            byte[] m = model.clone();
            StringBuilder what = new StringBuilder("field mutation " + i + ":");
            int n = 1 + (r.nextInt(4) == 0 ? 1 : 0);
            for (int k = 0; k < n; k++) {
                Field f = fields.get(r.nextInt(fields.size()));
                long v = interesting(r, f, m.length);
                setField(m, f, v);
                what.append(' ').append(f.what()).append('@').append(f.at()).append('=').append(Long.toUnsignedString(v));
            }
            if (parse(m, what.toString()) != null) {
                failures++;
            }
        }
        assertTrue(failures > 1000, "most extreme field values are errors: " + failures);
    }

    @Test
    void mutatedShardsOfASplitModelGiveOnlyCleanErrorsFromGgufFile() throws IOException {
        Path base = dir.resolve("split-src.gguf");
        GgufSamples.smallModel(32).write(base);
        List<Path> shards;
        try (GgufFile f = GgufFile.open(base)) {
            shards = GgufWriter.copyOf(f).writeSplit(dir.resolve("fz.gguf"), 2, Long.MAX_VALUE);
        }
        List<byte[]> originals = new ArrayList<>();
        for (Path p : shards) {
            originals.add(Files.readAllBytes(p));
        }
        Random r = new Random(SEED + 2);
        for (int i = 0; i < 300; i++) {
            int s = r.nextInt(shards.size());
            byte[] m = originals.get(s).clone();
            Layout l = walk(originals.get(s));
            String what;
            if (r.nextBoolean()) {
                Field f = l.fields().get(r.nextInt(l.fields().size()));
                long v = interesting(r, f, m.length);
                setField(m, f, v);
                what = "shard " + s + " " + f.what() + "@" + f.at() + "=" + Long.toUnsignedString(v);
            } else {
                int len = r.nextInt(m.length);
                m = java.util.Arrays.copyOf(m, len);
                what = "shard " + s + " truncated to " + len;
            }
            Files.write(shards.get(s), m);
            try (GgufFile f = GgufFile.open(shards.get(r.nextInt(shards.size())))) {
                for (TensorInfo t : f.tensors()) {
                    assertEquals(t.byteSize(), f.tensorData(t).byteSize(), what);
                }
            } catch (GgufFormatException | NoSuchFileException e) {
                assertNotNull(e.getMessage(), what);
            } catch (Throwable t) {
                fail(what + ": expected a GgufFormatException or a clean open, got " + t, t);
            } finally {
                Files.write(shards.get(s), originals.get(s));
            }
        }
    }
}
