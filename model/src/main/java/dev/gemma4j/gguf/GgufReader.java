package dev.gemma4j.gguf;

import dev.gemma4j.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses the header of one GGUF file (v2 or v3, little-endian; the two differ only in the version
 * number) from a memory mapping: key/values, tensor infos, and the bounds of the data area.
 *
 * <p>Every count and length is checked against the bytes that remain before anything is allocated, and
 * the heap that the metadata will take is budgeted ({@link #METADATA_HEAP_BUDGET}), so a corrupt file
 * fails with a {@link GgufFormatException} naming the offset, never with an out-of-memory error or an
 * index exception. Each step consumes at least one byte of the file, so parsing ends after at most as
 * many steps as the file has bytes (no hang on absurd counts).
 */
final class GgufReader {
    static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
    static final int DEFAULT_ALIGNMENT = 32;
    static final int MAX_DIMS = 4;
    static final int MAX_NESTING = 8;
    /** Largest accepted alignment (llama.cpp has no limit; real files use 32). */
    static final long MAX_ALIGNMENT = 1L << 24;
    /**
     * Estimated heap the parsed metadata may take. A Gemma 4 vocabulary (262k tokens, scores, types and
     * 514k merges) needs about 100 MiB; a header that would need more is corrupt.
     */
    static final long METADATA_HEAP_BUDGET = 1L << 30;
    /** Estimated heap of one String beyond its characters (object, array header, reference). */
    private static final int STRING_OVERHEAD = 48;

    private static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * A parsed header. {@code data} is the file's data area (tensor offsets count from its start, which is
     * at {@code dataStart} in the file); {@code keyOffsets} gives the file offset of each key.
     */
    record Header(int version, Map<String, GgufValue> metadata, Map<String, Long> keyOffsets,
                  List<TensorInfo> tensors, long alignment, long dataStart, MemorySegment data) {
    }

    private final Path file;
    private final MemorySegment seg;
    private final long size;
    private long pos;
    private final long heapBudget;
    private long heapLeft;

    private GgufReader(Path file, MemorySegment seg, long heapBudget) {
        this.file = file;
        this.seg = seg;
        this.size = seg.byteSize();
        this.heapBudget = heapBudget;
        this.heapLeft = heapBudget;
    }

    /** Parses the header of {@code seg}, the whole content of {@code file} (named in errors). */
    static Header readHeader(Path file, MemorySegment seg) throws GgufFormatException {
        return readHeader(file, seg, METADATA_HEAP_BUDGET);
    }

    /** As {@link #readHeader(Path, MemorySegment)} with another metadata heap budget (for tests). */
    static Header readHeader(Path file, MemorySegment seg, long heapBudget) throws GgufFormatException {
        return new GgufReader(file, seg, heapBudget).parse();
    }

    private GgufFormatException error(long at, String message) {
        return new GgufFormatException(file, at, message);
    }

    private long remaining() {
        return size - pos;
    }

    private void need(long n, String what) throws GgufFormatException {
        if (n < 0 || n > remaining()) {
            throw error(pos, "file truncated: " + what + " needs " + n + " bytes, " + remaining() + " remain");
        }
    }

    private void spendHeap(long bytes, long at, String what) throws GgufFormatException {
        if (bytes < 0 || bytes > heapLeft) {
            throw error(at, what + " would take more than the " + heapBudget
                + " bytes of memory allowed for metadata; the header is corrupt");
        }
        heapLeft -= bytes;
    }

    private int u32(String what) throws GgufFormatException {
        need(4, what);
        int v = seg.get(U32, pos);
        pos += 4;
        return v;
    }

    private long u64(String what) throws GgufFormatException {
        need(8, what);
        long v = seg.get(U64, pos);
        pos += 8;
        return v;
    }

    /** A count or length (u64 in v2 and v3); values of 2^63 and above are rejected. */
    private long count(String what) throws GgufFormatException {
        long at = pos;
        long v = u64(what);
        if (v < 0) {
            throw error(at, what + " is " + Long.toUnsignedString(v) + ", larger than any file");
        }
        return v;
    }

    private String string(String what) throws GgufFormatException {
        return string(what, -1);
    }

    /** Element names of a label: {@code label} itself, or "element i of 'label'" for {@code index >= 0}. */
    private static String name(String label, int index) {
        return index < 0 ? label : "element " + index + " of '" + label + "'";
    }

    /** A string; {@code label} and {@code index} name it in errors only (no message built on success). */
    private String string(String label, int index) throws GgufFormatException {
        long at = pos;
        if (remaining() < 8) {
            need(8, name(label, index) + " length");
        }
        long len = seg.get(U64, pos);
        pos += 8;
        if (len < 0) {
            throw error(at, name(label, index) + " length is " + Long.toUnsignedString(len) + ", larger than any file");
        }
        if (len > remaining()) {
            throw error(at, name(label, index) + " length " + len + " exceeds the " + remaining() + " bytes that remain");
        }
        if (len > Integer.MAX_VALUE - 16) {
            throw error(at, name(label, index) + " length " + len + " is too large for a string");
        }
        if (len == 0) {
            return "";
        }
        if (STRING_OVERHEAD + 2 * len > heapLeft) {
            spendHeap(STRING_OVERHEAD + 2 * len, at, name(label, index));
        }
        heapLeft -= STRING_OVERHEAD + 2 * len;
        byte[] b = new byte[(int) len];
        MemorySegment.copy(seg, U8, pos, b, 0, (int) len);
        pos += len;
        // Malformed UTF-8 (possible in token texts) becomes U+FFFD rather than an error.
        return new String(b, StandardCharsets.UTF_8);
    }

    private Header parse() throws GgufFormatException {
        if (size < 4) {
            throw error(0, "file truncated: " + size + " bytes, expected at least the 4-byte magic \"GGUF\"");
        }
        int magic = seg.get(U32, 0);
        if (magic != MAGIC) {
            throw error(0, String.format("bad magic 0x%08x, expected \"GGUF\" (0x%08x)", magic, MAGIC));
        }
        pos = 4;
        long vat = pos;
        int version = u32("version");
        if (version != 2 && version != 3) {
            String hint = version == 1 ? " (GGUF v1 is obsolete; re-convert the model)"
                : Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3 ? " (big-endian files are not supported)" : "";
            throw error(vat, "unsupported GGUF version " + Integer.toUnsignedString(version) + ", expected 2 or 3" + hint);
        }
        long tcAt = pos;
        long nTensors = count("tensor count");
        long kvAt = pos;
        long nKv = count("metadata count");
        // A key/value takes at least 8 (key length) + 4 (type) + 1 bytes; a tensor info 8 + 4 + 8 + 4 + 8.
        if (nKv > remaining() / 13) {
            throw error(kvAt, "metadata count " + nKv + " is impossible: " + remaining() + " bytes remain");
        }
        if (nTensors > remaining() / 32 || nTensors > Integer.MAX_VALUE - 16) {
            throw error(tcAt, "tensor count " + nTensors + " is impossible: " + remaining() + " bytes remain");
        }
        Map<String, GgufValue> md = new LinkedHashMap<>();
        Map<String, Long> keyAt = new HashMap<>();
        for (long i = 0; i < nKv; i++) {
            long at = pos;
            String key = string("metadata key " + i);
            long tAt = pos;
            int tid = u32("value type of '" + key + "'");
            GgufValueType t = GgufValueType.byId(tid);
            if (t == null) {
                throw error(tAt, "unknown value type " + Integer.toUnsignedString(tid) + " for key '" + key + "', expected 0..12");
            }
            if (md.containsKey(key)) {
                throw error(at, "duplicate metadata key '" + key + "' (first at byte " + keyAt.get(key) + ")");
            }
            md.put(key, value(t, key));
            keyAt.put(key, at);
        }
        long alignment = DEFAULT_ALIGNMENT;
        GgufValue al = md.get("general.alignment");
        if (al != null) {
            long a = al.isInteger() ? al.asLong() : -1;
            if (a <= 0 || Long.bitCount(a) != 1 || a > MAX_ALIGNMENT) {
                throw error(keyAt.get("general.alignment"), "general.alignment must be a power of two up to "
                    + MAX_ALIGNMENT + ", got " + al.describe() + " " + al);
            }
            alignment = a;
        }
        int n = (int) nTensors;
        List<TensorInfo> tensors = new ArrayList<>(Math.min(n, 4096));
        List<Long> infoAt = new ArrayList<>(Math.min(n, 4096));
        Map<String, Long> names = new HashMap<>();
        for (int i = 0; i < n; i++) {
            long at = pos;
            String name = string("name of tensor " + i);
            Long first = names.putIfAbsent(name, at);
            if (first != null) {
                throw error(at, "duplicate tensor name '" + name + "' (first at byte " + first + ")");
            }
            tensors.add(tensorInfo(name, alignment));
            infoAt.add(at);
        }
        long dataStart = pos;
        if (n > 0) {
            dataStart = (pos + alignment - 1) / alignment * alignment;
            if (dataStart > size) {
                throw error(pos, "file truncated: the data area should start at byte " + dataStart
                    + " (alignment " + alignment + ") but the file has " + size + " bytes");
            }
        }
        long dataSize = size - Math.min(dataStart, size);
        checkBoundsAndOverlap(tensors, infoAt, dataStart, dataSize);
        MemorySegment data = seg.asSlice(Math.min(dataStart, size), dataSize);
        return new Header(version, md, keyAt, tensors, alignment, dataStart, data);
    }

    private TensorInfo tensorInfo(String name, long alignment) throws GgufFormatException {
        long dAt = pos;
        int nd = u32("dimension count of tensor '" + name + "'");
        if (nd < 1 || nd > MAX_DIMS) {
            throw error(dAt, "tensor '" + name + "' has " + Integer.toUnsignedString(nd) + " dimensions, expected 1.." + MAX_DIMS);
        }
        long[] shape = new long[nd];
        long elements = 1;
        for (int d = 0; d < nd; d++) {
            long sAt = pos;
            shape[d] = u64("dimension " + d + " of tensor '" + name + "'");
            if (shape[d] <= 0) {
                throw error(sAt, "tensor '" + name + "' dimension " + d + " is " + Long.toUnsignedString(shape[d])
                    + ", expected 1.." + Long.MAX_VALUE);
            }
            try {
                elements = Math.multiplyExact(elements, shape[d]);
            } catch (ArithmeticException e) {
                throw error(sAt, "tensor '" + name + "': the product of its dimensions "
                    + Arrays.toString(Arrays.copyOf(shape, d + 1)) + " overflows 63 bits");
            }
        }
        long tyAt = pos;
        int tid = u32("type of tensor '" + name + "'");
        GgmlType type = GgmlType.byId(tid);
        if (type == null) {
            throw error(tyAt, "tensor '" + name + "' has unknown ggml type id " + Integer.toUnsignedString(tid));
        }
        if (!type.fitsRow(shape[0])) {
            throw error(tyAt, "tensor '" + name + "' of type " + type + " has rows of " + shape[0]
                + " elements, expected a multiple of its block size " + type.blockElements());
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(elements / shape[0], type.rowBytes(shape[0]));
        } catch (ArithmeticException e) {
            throw error(tyAt, "tensor '" + name + "': its byte size overflows 63 bits");
        }
        long offAt = pos;
        long off = u64("data offset of tensor '" + name + "'");
        if (off < 0 || off % alignment != 0) {
            throw error(offAt, "tensor '" + name + "' has data offset " + Long.toUnsignedString(off)
                + ", expected a multiple of the alignment " + alignment);
        }
        return new TensorInfo(name, type, shape, off, 0, bytes);
    }

    private void checkBoundsAndOverlap(List<TensorInfo> tensors, List<Long> infoAt, long dataStart, long dataSize)
        throws GgufFormatException {
        Integer[] order = new Integer[tensors.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingLong(i -> tensors.get(i).offset()));
        long prevEnd = 0;
        String prevName = null;
        for (int idx : order) {
            TensorInfo t = tensors.get(idx);
            if (t.offset() > dataSize || t.byteSize() > dataSize - t.offset()) {
                throw error(infoAt.get(idx), "tensor '" + t.name() + "' (" + t.byteSize() + " bytes at data offset "
                    + t.offset() + ") runs past the end of the file: the data area (from byte " + dataStart + ") holds "
                    + dataSize + " bytes; the file is truncated or the tensor info is corrupt");
            }
            if (prevName != null && t.offset() < prevEnd) {
                throw error(infoAt.get(idx), "tensor '" + t.name() + "' at data offset " + t.offset()
                    + " overlaps tensor '" + prevName + "', which ends at data offset " + prevEnd);
            }
            prevEnd = t.offset() + t.byteSize();
            prevName = t.name();
        }
    }

    private GgufValue value(GgufValueType t, String key) throws GgufFormatException {
        String what = "value of '" + key + "'";
        return switch (t) {
            case STRING -> GgufValue.ofString(string(what));
            case ARRAY -> array(key, 0);
            case BOOL -> GgufValue.ofBool(bool(what, -1));
            case FLOAT32 -> {
                need(4, what);
                float v = seg.get(F32, pos);
                pos += 4;
                yield GgufValue.ofFloat32(v);
            }
            case FLOAT64 -> {
                need(8, what);
                double v = seg.get(F64, pos);
                pos += 8;
                yield GgufValue.ofFloat64(v);
            }
            default -> {
                need(t.size(), what);
                long v = integerAt(t, pos);
                pos += t.size();
                yield GgufValue.ofInteger(t, v);
            }
        };
    }

    private boolean bool(String label, int index) throws GgufFormatException {
        if (remaining() < 1) {
            need(1, name(label, index));
        }
        byte b = seg.get(U8, pos);
        if (b != 0 && b != 1) {
            throw error(pos, name(label, index) + " is a bool of value " + (b & 0xFF) + ", expected 0 or 1");
        }
        pos += 1;
        return b != 0;
    }

    /** An integer of type {@code t} at {@code at}, widened to long (unsigned types zero-extended). */
    private long integerAt(GgufValueType t, long at) {
        return switch (t) {
            case UINT8 -> Byte.toUnsignedLong(seg.get(U8, at));
            case INT8 -> seg.get(U8, at);
            case UINT16 -> Short.toUnsignedLong(seg.get(U16, at));
            case INT16 -> seg.get(U16, at);
            case UINT32 -> Integer.toUnsignedLong(seg.get(U32, at));
            case INT32 -> seg.get(U32, at);
            case UINT64, INT64 -> seg.get(U64, at);
            default -> throw new AssertionError(t);
        };
    }

    /** {@code len} integers of type {@code t} at {@code pos}, widened to long; bounds checked by the caller. */
    private long[] integers(GgufValueType t, int len) {
        long[] a = new long[len];
        switch (t) {
            case UINT8, INT8 -> {
                byte[] b = new byte[len];
                MemorySegment.copy(seg, U8, pos, b, 0, len);
                for (int i = 0; i < len; i++) {
                    a[i] = t == GgufValueType.UINT8 ? b[i] & 0xFF : b[i];
                }
            }
            case UINT16, INT16 -> {
                short[] b = new short[len];
                MemorySegment.copy(seg, U16, pos, b, 0, len);
                for (int i = 0; i < len; i++) {
                    a[i] = t == GgufValueType.UINT16 ? b[i] & 0xFFFF : b[i];
                }
            }
            case UINT32, INT32 -> {
                int[] b = new int[len];
                MemorySegment.copy(seg, U32, pos, b, 0, len);
                for (int i = 0; i < len; i++) {
                    a[i] = t == GgufValueType.UINT32 ? b[i] & 0xFFFF_FFFFL : b[i];
                }
            }
            default -> MemorySegment.copy(seg, U64, pos, a, 0, len);
        }
        pos += (long) len * t.size();
        return a;
    }

    /**
     * A string array of {@code len} elements at {@code pos}: lengths are checked one by one, then the
     * whole stored region is copied once; decoding to Strings happens on use.
     */
    private GgufValue.LazyStrings strings(String key, int len, long nAt) throws GgufFormatException {
        spendHeap(4L * len, nAt, "array '" + key + "'");
        int[] starts = new int[len];
        long start = pos;
        long p = pos;
        for (int i = 0; i < len; i++) {
            if (size - p < 8) {
                pos = p;
                need(8, name(key, i) + " length");
            }
            long l = seg.get(U64, p);
            long left = size - p - 8;
            if (l < 0 || l > left) {
                throw error(p, name(key, i) + " length " + Long.toUnsignedString(l) + " exceeds the " + left + " bytes that remain");
            }
            if (p + 8 - start > Integer.MAX_VALUE - 16 - l) {
                throw error(p, "string array '" + key + "' takes more than 2 GiB");
            }
            long cost = STRING_OVERHEAD + 2 * l;
            if (cost > heapLeft) {
                spendHeap(cost, p, name(key, i));
            }
            heapLeft -= cost;
            starts[i] = (int) (p + 8 - start);
            p += 8 + l;
        }
        byte[] bytes = new byte[(int) (p - start)];
        MemorySegment.copy(seg, U8, start, bytes, 0, bytes.length);
        pos = p;
        return new GgufValue.LazyStrings(bytes, starts);
    }

    private GgufValue array(String key, int depth) throws GgufFormatException {
        long etAt = pos;
        if (depth >= MAX_NESTING) {
            throw error(etAt, "arrays of '" + key + "' are nested deeper than " + MAX_NESTING + " levels");
        }
        int eid = u32("array element type of '" + key + "'");
        GgufValueType et = GgufValueType.byId(eid);
        if (et == null) {
            throw error(etAt, "unknown array element type " + Integer.toUnsignedString(eid) + " for key '" + key + "', expected 0..12");
        }
        long nAt = pos;
        long n = count("array length of '" + key + "'");
        // smallest encoding of one element: fixed size, 8-byte string length, or 4 + 8 bytes of a nested array header
        long minElem = et.size() > 0 ? et.size() : et == GgufValueType.STRING ? 8 : 12;
        if (n > remaining() / minElem) {
            throw error(nAt, "array length " + n + " of '" + key + "' (" + et + ") needs at least " + minElem
                + " bytes per element, but only " + remaining() + " bytes remain");
        }
        if (n > Integer.MAX_VALUE - 16) {
            throw error(nAt, "array length " + n + " of '" + key + "' is too large");
        }
        int len = (int) n;
        switch (et) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> {
                spendHeap(8L * len, nAt, "array '" + key + "'");
                long[] a = integers(et, len);
                return GgufValue.ofIntegerArray(et, a);
            }
            case FLOAT32 -> {
                spendHeap(12L * len, nAt, "array '" + key + "'");
                float[] f = new float[len];
                MemorySegment.copy(seg, F32, pos, f, 0, len);
                pos += 4L * len;
                double[] a = new double[len];
                for (int i = 0; i < len; i++) {
                    a[i] = f[i];
                }
                return GgufValue.ofFloatArray(et, a);
            }
            case FLOAT64 -> {
                spendHeap(8L * len, nAt, "array '" + key + "'");
                double[] a = new double[len];
                MemorySegment.copy(seg, F64, pos, a, 0, len);
                pos += 8L * len;
                return GgufValue.ofFloatArray(et, a);
            }
            case BOOL -> {
                spendHeap(len, nAt, "array '" + key + "'");
                boolean[] a = new boolean[len];
                for (int i = 0; i < len; i++) {
                    a[i] = bool(key, i);
                }
                return GgufValue.ofBoolArray(a);
            }
            case STRING -> {
                return GgufValue.ofLazyStrings(strings(key, len, nAt));
            }
            case ARRAY -> {
                spendHeap(32L * len, nAt, "array '" + key + "'");
                GgufValue[] a = new GgufValue[len];
                for (int i = 0; i < len; i++) {
                    a[i] = array(key, depth + 1);
                }
                return GgufValue.ofArrayArray(a);
            }
            default -> throw new AssertionError(et);
        }
    }
}
