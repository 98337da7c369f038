package dev.gemma4j.gguf;

import dev.gemma4j.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses one GGUF file (v2 or v3) from a memory mapping. Every count and length is checked against the
 * bytes that remain before anything is allocated, so a corrupt file fails with a {@link GgufFormatException}
 * naming the offset, never with an out-of-memory error or an index exception.
 */
final class GgufReader {
    static final int MAGIC = 0x46554747; // "GGUF" little-endian
    static final int DEFAULT_ALIGNMENT = 32;
    private static final int MAX_DIMS = 4;
    private static final int MAX_NESTING = 8;
    private static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A parsed header; {@code data} is the file's data area (tensor offsets count from its start). */
    record Header(int version, Map<String, GgufValue> metadata, List<TensorInfo> tensors, long alignment,
                  long dataStart, MemorySegment data) {
    }

    private final Path file;
    private final MemorySegment seg;
    private final long size;
    private long pos;
    private int version;

    private GgufReader(Path file, MemorySegment seg) {
        this.file = file;
        this.seg = seg;
        this.size = seg.byteSize();
    }

    static Header readHeader(Path file, MemorySegment seg) throws GgufFormatException {
        return new GgufReader(file, seg).parse();
    }

    private GgufFormatException error(long at, String message) {
        return new GgufFormatException(file, at, message);
    }

    private void need(long n, String what) throws GgufFormatException {
        if (n < 0 || n > size - pos) {
            throw error(pos, "file truncated: " + what + " needs " + n + " bytes, " + (size - pos) + " remain");
        }
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

    /** A count stored as u64 (v3) or u32 (v2). */
    private long count(String what) throws GgufFormatException {
        long at = pos;
        long v = u64(what); // v2 and v3 store counts and lengths as u64
        if (v < 0) {
            throw error(at, what + " is negative or absurd: " + Long.toUnsignedString(v));
        }
        return v;
    }

    private String string(String what) throws GgufFormatException {
        long at = pos;
        long len = count(what + " length");
        if (len > size - pos) {
            throw error(at, what + " length " + len + " exceeds the " + (size - pos) + " bytes that remain");
        }
        if (len > Integer.MAX_VALUE - 16) {
            throw error(at, what + " length " + len + " is too large");
        }
        byte[] b = seg.asSlice(pos, len).toArray(U8);
        pos += len;
        try {
            return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(java.nio.ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            // Token texts in real vocabularies can hold partial UTF-8; keep them readable rather than fail.
            return new String(b, StandardCharsets.UTF_8);
        }
    }

    private Header parse() throws GgufFormatException {
        if (size < 4) {
            throw error(0, "file truncated: " + size + " bytes, not a GGUF file");
        }
        int magic = seg.get(U32, 0);
        if (magic != MAGIC) {
            throw error(0, String.format("bad magic 0x%08x, expected \"GGUF\" (0x%08x)", magic, MAGIC));
        }
        pos = 4;
        long vat = pos;
        version = u32("version");
        if (version != 2 && version != 3) {
            throw error(vat, "unsupported GGUF version " + Integer.toUnsignedString(version) + ", expected 2 or 3");
        }
        long tcAt = pos;
        long nTensors = count("tensor count");
        long kvAt = pos;
        long nKv = count("metadata count");
        // Each tensor info takes at least 8 (name length) + 4 + 8 + 4 + 8 bytes; each key/value at least 8 + 4 + 1.
        if (nKv > (size - pos) / 13) {
            throw error(kvAt, "metadata count " + nKv + " is impossible for a file of " + size + " bytes");
        }
        if (nTensors > (size - pos) / 32) {
            throw error(tcAt, "tensor count " + nTensors + " is impossible for a file of " + size + " bytes");
        }
        Map<String, GgufValue> md = new LinkedHashMap<>();
        for (long i = 0; i < nKv; i++) {
            long at = pos;
            String key = string("metadata key");
            long tAt = pos;
            int tid = u32("value type of '" + key + "'");
            GgufValueType t = GgufValueType.byId(tid);
            if (t == null) {
                throw error(tAt, "unknown value type " + tid + " for key '" + key + "'");
            }
            GgufValue v = value(t, key, 0);
            if (md.putIfAbsent(key, v) != null) {
                throw error(at, "duplicate metadata key '" + key + "'");
            }
        }
        long alignment = DEFAULT_ALIGNMENT;
        GgufValue al = md.get("general.alignment");
        if (al != null) {
            if (!al.isInteger() || al.asLong() <= 0 || Long.bitCount(al.asLong()) != 1 || al.asLong() > (1 << 24)) {
                throw error(0, "general.alignment must be a power of two, got " + al);
            }
            alignment = al.asLong();
        }
        List<TensorInfo> tensors = new ArrayList<>();
        java.util.Set<String> names = new java.util.HashSet<>();
        long[] infoAt = new long[(int) nTensors];
        for (int i = 0; i < nTensors; i++) {
            long at = pos;
            infoAt[i] = at;
            String name = string("tensor name");
            long dAt = pos;
            int nd = u32("dimension count of '" + name + "'");
            if (nd < 1 || nd > MAX_DIMS) {
                throw error(dAt, "tensor '" + name + "' has " + Integer.toUnsignedString(nd) + " dimensions, expected 1.." + MAX_DIMS);
            }
            long[] shape = new long[nd];
            long elements = 1;
            for (int d = 0; d < nd; d++) {
                long sAt = pos;
                shape[d] = u64("dimension");
                if (shape[d] <= 0) {
                    throw error(sAt, "tensor '" + name + "' dimension " + d + " is " + Long.toUnsignedString(shape[d]) + ", expected > 0");
                }
                try {
                    elements = Math.multiplyExact(elements, shape[d]);
                } catch (ArithmeticException e) {
                    throw error(sAt, "tensor '" + name + "' shape " + Arrays.toString(shape) + " overflows 64 bits");
                }
            }
            long tyAt = pos;
            int tid = u32("type of '" + name + "'");
            GgmlType type = GgmlType.byId(tid);
            if (type == null) {
                throw error(tyAt, "tensor '" + name + "' has unknown ggml type id " + Integer.toUnsignedString(tid));
            }
            if (!type.fitsRow(shape[0])) {
                throw error(tyAt, "tensor '" + name + "' row length " + shape[0] + " is not a multiple of the "
                    + type + " block size " + type.blockElements());
            }
            long offAt = pos;
            long off = u64("offset of '" + name + "'");
            if (off < 0 || off % alignment != 0) {
                throw error(offAt, "tensor '" + name + "' offset " + Long.toUnsignedString(off) + " is not a multiple of the alignment " + alignment);
            }
            long bytes;
            try {
                bytes = Math.multiplyExact(elements / shape[0], type.rowBytes(shape[0]));
            } catch (ArithmeticException e) {
                throw error(tyAt, "tensor '" + name + "' byte size overflows 64 bits");
            }
            if (!names.add(name)) {
                throw error(at, "duplicate tensor name '" + name + "'");
            }
            tensors.add(new TensorInfo(name, type, shape, off, 0, bytes));
        }
        long dataStart = (pos + alignment - 1) / alignment * alignment;
        if (nTensors > 0 && dataStart > size) {
            throw error(pos, "file truncated: the data area would start at " + dataStart + " but the file has " + size + " bytes");
        }
        long dataSize = Math.max(0, size - dataStart);
        // bounds and overlap
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
                throw error(infoAt[idx], "tensor '" + t.name() + "' (" + t.byteSize() + " bytes at data offset " + t.offset()
                    + ") runs past the end of the file (data area holds " + dataSize + " bytes)");
            }
            if (prevName != null && t.offset() < prevEnd) {
                throw error(infoAt[idx], "tensor '" + t.name() + "' at data offset " + t.offset() + " overlaps tensor '"
                    + prevName + "' which ends at " + prevEnd);
            }
            prevEnd = t.offset() + t.byteSize();
            prevName = t.name();
        }
        MemorySegment data = seg.asSlice(Math.min(dataStart, size), dataSize);
        return new Header(version, md, tensors, alignment, dataStart, data);
    }

    private GgufValue value(GgufValueType t, String key, int depth) throws GgufFormatException {
        switch (t) {
            case UINT8 -> { need(1, key); long v = Byte.toUnsignedLong(seg.get(U8, pos)); pos += 1; return GgufValue.ofInteger(t, v); }
            case INT8 -> { need(1, key); long v = seg.get(U8, pos); pos += 1; return GgufValue.ofInteger(t, v); }
            case UINT16 -> { need(2, key); long v = Short.toUnsignedLong(seg.get(U16, pos)); pos += 2; return GgufValue.ofInteger(t, v); }
            case INT16 -> { need(2, key); long v = seg.get(U16, pos); pos += 2; return GgufValue.ofInteger(t, v); }
            case UINT32 -> { return GgufValue.ofInteger(t, Integer.toUnsignedLong(u32(key))); }
            case INT32 -> { return GgufValue.ofInteger(t, u32(key)); }
            case UINT64, INT64 -> { return GgufValue.ofInteger(t, u64(key)); }
            case FLOAT32 -> { need(4, key); float v = seg.get(F32, pos); pos += 4; return GgufValue.ofFloat32(v); }
            case FLOAT64 -> { need(8, key); double v = seg.get(F64, pos); pos += 8; return GgufValue.ofFloat64(v); }
            case BOOL -> {
                need(1, key);
                byte b = seg.get(U8, pos);
                if (b != 0 && b != 1) {
                    throw error(pos, "bool value of '" + key + "' is " + b + ", expected 0 or 1");
                }
                pos += 1;
                return GgufValue.ofBool(b != 0);
            }
            case STRING -> { return GgufValue.ofString(string("value of '" + key + "'")); }
            case ARRAY -> { return array(key, depth); }
            default -> throw new AssertionError(t);
        }
    }

    private GgufValue array(String key, int depth) throws GgufFormatException {
        if (depth >= MAX_NESTING) {
            throw error(pos, "arrays of '" + key + "' nested deeper than " + MAX_NESTING);
        }
        long etAt = pos;
        int eid = u32("array element type of '" + key + "'");
        GgufValueType et = GgufValueType.byId(eid);
        if (et == null) {
            throw error(etAt, "unknown array element type " + eid + " for key '" + key + "'");
        }
        long nAt = pos;
        long n = count("array length of '" + key + "'");
        long minElem = et.size() > 0 ? et.size() : 8;
        if (n > (size - pos) / minElem || n > Integer.MAX_VALUE - 16) {
            throw error(nAt, "array length " + n + " of '" + key + "' exceeds the " + (size - pos) + " bytes that remain");
        }
        int len = (int) n;
        switch (et) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> {
                long[] a = new long[len];
                for (int i = 0; i < len; i++) {
                    a[i] = value(et, key, depth + 1).asLong();
                }
                return GgufValue.ofIntegerArray(et, a);
            }
            case FLOAT32 -> {
                double[] a = new double[len];
                for (int i = 0; i < len; i++) {
                    a[i] = seg.get(F32, pos);
                    pos += 4;
                }
                return GgufValue.ofFloatArray(et, a);
            }
            case FLOAT64 -> {
                double[] a = new double[len];
                for (int i = 0; i < len; i++) {
                    a[i] = seg.get(F64, pos);
                    pos += 8;
                }
                return GgufValue.ofFloatArray(et, a);
            }
            case BOOL -> {
                boolean[] a = new boolean[len];
                for (int i = 0; i < len; i++) {
                    a[i] = value(et, key, depth + 1).asBoolean();
                }
                return GgufValue.ofBoolArray(a);
            }
            case STRING -> {
                String[] a = new String[len];
                for (int i = 0; i < len; i++) {
                    a[i] = string("element " + i + " of '" + key + "'");
                }
                return GgufValue.ofStringArray(a);
            }
            case ARRAY -> {
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
