package dev.gemma4j.gguf;

import dev.gemma4j.tensor.GgmlType;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a GGUF v3 file of any size. Metadata is held in memory; tensor data is streamed from a
 * {@link TensorSource} per tensor at write time, so a multi-gigabyte model is written in bounded memory.
 */
public final class GgufWriter {

    /** Produces the bytes of one tensor, in row order, onto {@code out}. */
    @FunctionalInterface
    public interface TensorSource {
        void writeTo(OutputStream out) throws IOException;
    }

    private record Pending(String name, GgmlType type, long[] shape, long bytes, TensorSource source) {
    }

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Pending> tensors = new ArrayList<>();
    private final java.util.Set<String> names = new java.util.HashSet<>();
    private int alignment = GgufReader.DEFAULT_ALIGNMENT;

    /** Sets a metadata value; {@code general.alignment} also sets the data alignment. */
    public GgufWriter put(String key, GgufValue value) {
        if (key.equals("general.alignment")) {
            long a = value.asLong();
            if (a <= 0 || Long.bitCount(a) != 1) {
                throw new IllegalArgumentException("alignment must be a power of two: " + a);
            }
            alignment = (int) a;
        }
        metadata.put(key, value);
        return this;
    }

    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    /** Adds a tensor; {@code shape} is in ggml order (row length first). */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, TensorSource source) {
        if (!names.add(name)) {
            throw new IllegalArgumentException("duplicate tensor " + name);
        }
        long rows = 1;
        for (int i = 1; i < shape.length; i++) {
            rows = Math.multiplyExact(rows, shape[i]);
        }
        if (!type.fitsRow(shape[0])) {
            throw new IllegalArgumentException(name + ": row length " + shape[0] + " is not a multiple of " + type.blockElements());
        }
        tensors.add(new Pending(name, type, shape.clone(), Math.multiplyExact(rows, type.rowBytes(shape[0])), source));
        return this;
    }

    /** Adds an F32 tensor held in memory (norm weights, small tables). */
    public GgufWriter addF32(String name, long[] shape, float[] values) {
        return addTensor(name, GgmlType.F32, shape, out -> {
            ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(values);
            out.write(b.array());
        });
    }

    /** Adds a tensor whose bytes are already encoded. */
    public GgufWriter addBytes(String name, GgmlType type, long[] shape, byte[] bytes) {
        return addTensor(name, type, shape, out -> out.write(bytes));
    }

    /** Writes the file. Fails if a source writes more or fewer bytes than its tensor's size. */
    public void write(Path path) throws IOException {
        try (OutputStream raw = Files.newOutputStream(path);
             CountingStream out = new CountingStream(new BufferedOutputStream(raw, 1 << 20))) {
            out.le32(GgufReader.MAGIC);
            out.le32(3);
            out.le64(tensors.size());
            out.le64(metadata.size());
            for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
                out.string(e.getKey());
                out.le32(e.getValue().type().id());
                writeValue(out, e.getValue());
            }
            long offset = 0;
            for (Pending t : tensors) {
                out.string(t.name);
                out.le32(t.shape.length);
                for (long d : t.shape) {
                    out.le64(d);
                }
                out.le32(t.type.id());
                out.le64(offset);
                offset = align(offset + t.bytes);
            }
            out.pad(alignment);
            for (Pending t : tensors) {
                long start = out.count;
                t.source.writeTo(out);
                long written = out.count - start;
                if (written != t.bytes) {
                    throw new IOException("tensor " + t.name + ": source wrote " + written + " bytes, expected " + t.bytes);
                }
                out.pad(alignment);
            }
        }
    }

    private long align(long n) {
        return (n + alignment - 1) / alignment * alignment;
    }

    private static void writeValue(CountingStream out, GgufValue v) throws IOException {
        switch (v.type()) {
            case UINT8, INT8 -> out.write((int) v.asLong());
            case UINT16, INT16 -> out.le16((int) v.asLong());
            case UINT32, INT32 -> out.le32((int) v.asLong());
            case UINT64, INT64 -> out.le64(v.asLong());
            case FLOAT32 -> out.le32(Float.floatToRawIntBits(v.asFloat()));
            case FLOAT64 -> out.le64(Double.doubleToRawLongBits(v.asDouble()));
            case BOOL -> out.write(v.asBoolean() ? 1 : 0);
            case STRING -> out.string(v.asString());
            case ARRAY -> {
                GgufValueType et = v.elementType();
                out.le32(et.id());
                out.le64(v.length());
                switch (v.raw()) {
                    case long[] a -> {
                        for (long x : a) {
                            writeValue(out, GgufValue.ofInteger(et, x));
                        }
                    }
                    case double[] a -> {
                        for (double x : a) {
                            writeValue(out, et == GgufValueType.FLOAT32 ? GgufValue.ofFloat32((float) x) : GgufValue.ofFloat64(x));
                        }
                    }
                    case boolean[] a -> {
                        for (boolean x : a) {
                            out.write(x ? 1 : 0);
                        }
                    }
                    case String[] a -> {
                        for (String x : a) {
                            out.string(x);
                        }
                    }
                    case GgufValue[] a -> {
                        for (GgufValue x : a) {
                            out.le32(x.elementType().id());
                            // nested arrays are written without their own type tag's outer 'ARRAY' id
                            writeArrayBody(out, x);
                        }
                    }
                    default -> throw new IllegalStateException(Arrays.toString(new Object[] {v.raw()}));
                }
            }
        }
    }

    private static void writeArrayBody(CountingStream out, GgufValue x) throws IOException {
        // writeValue(ARRAY) writes element type + length + elements; the element type was just written.
        CountingStream tmp = out;
        tmp.le64(x.length());
        GgufValueType et = x.elementType();
        switch (x.raw()) {
            case long[] a -> {
                for (long e : a) {
                    writeValue(out, GgufValue.ofInteger(et, e));
                }
            }
            case double[] a -> {
                for (double e : a) {
                    writeValue(out, et == GgufValueType.FLOAT32 ? GgufValue.ofFloat32((float) e) : GgufValue.ofFloat64(e));
                }
            }
            case boolean[] a -> {
                for (boolean e : a) {
                    out.write(e ? 1 : 0);
                }
            }
            case String[] a -> {
                for (String e : a) {
                    out.string(e);
                }
            }
            case GgufValue[] a -> {
                for (GgufValue e : a) {
                    out.le32(e.elementType().id());
                    writeArrayBody(out, e);
                }
            }
            default -> throw new IllegalStateException();
        }
    }

    private static final class CountingStream extends java.io.FilterOutputStream {
        long count;

        CountingStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }

        void le16(int v) throws IOException {
            write(v & 0xFF);
            write((v >>> 8) & 0xFF);
        }

        void le32(int v) throws IOException {
            le16(v);
            le16(v >>> 16);
        }

        void le64(long v) throws IOException {
            le32((int) v);
            le32((int) (v >>> 32));
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            le64(b.length);
            write(b, 0, b.length);
        }

        void pad(int alignment) throws IOException {
            while (count % alignment != 0) {
                write(0);
            }
        }
    }
}
