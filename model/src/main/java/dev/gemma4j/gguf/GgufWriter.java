package dev.gemma4j.gguf;

import dev.gemma4j.tensor.GgmlType;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes GGUF v3 files of any size, as one file or split into shards the way llama.cpp's
 * {@code gguf-split} does. Metadata is held in memory; tensor data is streamed from a {@link TensorSource}
 * per tensor at write time, so a multi-gigabyte model is written in bounded memory. Tensors are laid out
 * in the order they were added, each at the next multiple of the alignment (what llama.cpp requires).
 */
public final class GgufWriter {

    /** Produces the bytes of one tensor, in row order, onto {@code out}. */
    @FunctionalInterface
    public interface TensorSource {
        void writeTo(OutputStream out) throws IOException;
    }

    private record Pending(String name, GgmlType type, long[] shape, long bytes, TensorSource source) {
    }

    /** Keys a split writer manages itself; they are dropped from user metadata when splitting. */
    private static final Set<String> SPLIT_KEYS = Set.of("split.no", "split.count", "split.tensors.count");
    private static final int BUFFER_BYTES = 1 << 20;

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Pending> tensors = new ArrayList<>();
    private final Set<String> names = new HashSet<>();
    private int alignment = GgufReader.DEFAULT_ALIGNMENT;

    /**
     * Sets a metadata value (replacing an earlier one of the same key). {@code general.alignment} also sets
     * the data alignment; it must be a power of two and is stored as UINT32, the only type llama.cpp accepts.
     */
    public GgufWriter put(String key, GgufValue value) {
        if (key == null || value == null) {
            throw new IllegalArgumentException("metadata key and value must not be null");
        }
        if (key.equals("general.alignment")) {
            long a = value.isInteger() ? value.asLong() : -1;
            if (a <= 0 || Long.bitCount(a) != 1 || a > GgufReader.MAX_ALIGNMENT) {
                throw new IllegalArgumentException("general.alignment must be a power of two up to "
                    + GgufReader.MAX_ALIGNMENT + ": " + value);
            }
            alignment = (int) a;
            value = GgufValue.ofUint32(a);
        }
        metadata.put(key, value);
        return this;
    }

    /** The metadata to be written, in order (a live view; use {@link #put} to add alignment). */
    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    /** Data alignment in bytes (32 unless {@code general.alignment} was put). */
    public int alignment() {
        return alignment;
    }

    /** Number of tensors added so far. */
    public int tensorCount() {
        return tensors.size();
    }

    /**
     * Adds a tensor; {@code shape} is in ggml order (row length first, 1 to 4 dimensions, each &gt; 0) and
     * {@code source} must write exactly the tensor's byte size when the file is written.
     */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, TensorSource source) {
        if (name == null || type == null || shape == null || source == null) {
            throw new IllegalArgumentException("tensor name, type, shape and source must not be null");
        }
        if (shape.length < 1 || shape.length > GgufReader.MAX_DIMS) {
            throw new IllegalArgumentException(name + ": " + shape.length + " dimensions, expected 1.." + GgufReader.MAX_DIMS);
        }
        long rows = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] <= 0) {
                throw new IllegalArgumentException(name + ": dimension " + i + " is " + shape[i] + ", expected > 0");
            }
            if (i > 0) {
                rows = Math.multiplyExact(rows, shape[i]);
            }
        }
        if (!type.fitsRow(shape[0])) {
            throw new IllegalArgumentException(name + ": row length " + shape[0] + " is not a multiple of the "
                + type + " block size " + type.blockElements());
        }
        if (!names.add(name)) {
            throw new IllegalArgumentException("duplicate tensor " + name);
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

    /** Adds a tensor whose bytes are in a memory segment (for example a tensor of another open file). */
    public GgufWriter addSegment(String name, GgmlType type, long[] shape, MemorySegment bytes) {
        return addTensor(name, type, shape, out -> {
            if (out instanceof ViewStream v) {
                v.sink.segment(bytes);
                return;
            }
            byte[] chunk = new byte[(int) Math.min(BUFFER_BYTES, bytes.byteSize())];
            for (long off = 0; off < bytes.byteSize(); off += chunk.length) {
                int n = (int) Math.min(chunk.length, bytes.byteSize() - off);
                MemorySegment.copy(bytes, java.lang.foreign.ValueLayout.JAVA_BYTE, off, chunk, 0, n);
                out.write(chunk, 0, n);
            }
        });
    }

    /**
     * Adds a tensor of zero bytes. They are not written but skipped, so the file gets a sparse hole where
     * the file system supports it: shape-only models of full size (for loader and inspect tests) cost no disk.
     */
    public GgufWriter addZeros(String name, GgmlType type, long[] shape) {
        return addTensor(name, type, shape, new ZeroSource());
    }

    /** Marker source for {@link #addZeros}; the byte count comes from the tensor. */
    private static final class ZeroSource implements TensorSource {
        @Override
        public void writeTo(OutputStream out) {
            throw new IllegalStateException("written by the writer itself");
        }
    }

    /**
     * A writer holding all metadata (except the {@code split.*} keys) and all tensors of {@code file}, the
     * tensor data read from its mapping when written. With {@link #writeSplit} this re-splits or joins
     * existing models; {@code file} must stay open until the write is done.
     */
    public static GgufWriter copyOf(GgufFile file) {
        GgufWriter w = new GgufWriter();
        for (Map.Entry<String, GgufValue> e : file.metadata().entrySet()) {
            if (!SPLIT_KEYS.contains(e.getKey())) {
                w.put(e.getKey(), e.getValue());
            }
        }
        for (TensorInfo t : file.tensors()) {
            w.addSegment(t.name(), t.type(), t.shape(), file.tensorData(t));
        }
        return w;
    }

    /** Writes the file. Fails if a source writes more or fewer bytes than its tensor's size. */
    public void write(Path path) throws IOException {
        writeShard(path, metadata, tensors);
    }

    /**
     * Writes the model split into shards named {@code PREFIX-00001-of-0000N.gguf}, where PREFIX is
     * {@code path} without its {@code .gguf} ending, following llama.cpp's layout: every shard is a complete
     * GGUF file; the first holds all metadata plus {@code split.no} (UINT16, 0-based), {@code split.count}
     * (UINT16) and {@code split.tensors.count} (INT32); the others only these three keys. A new shard is
     * started before a tensor that would make the current one exceed {@code maxTensorsPerShard} tensors or
     * {@code maxBytesPerShard} bytes of tensor data (a shard always takes at least one tensor).
     *
     * @return the shard paths, in order
     */
    public List<Path> writeSplit(Path path, int maxTensorsPerShard, long maxBytesPerShard) throws IOException {
        if (maxTensorsPerShard < 1 || maxBytesPerShard < 1) {
            throw new IllegalArgumentException("shard limits must be positive");
        }
        List<List<Pending>> shards = new ArrayList<>();
        List<Pending> current = new ArrayList<>();
        long bytes = 0;
        for (Pending t : tensors) {
            long padded = align(t.bytes);
            if (!current.isEmpty() && (current.size() >= maxTensorsPerShard || padded > maxBytesPerShard - bytes)) {
                shards.add(current);
                current = new ArrayList<>();
                bytes = 0;
            }
            current.add(t);
            bytes += padded;
        }
        shards.add(current);
        int n = shards.size();
        if (n > 99999) {
            throw new IllegalArgumentException(n + " shards; at most 99999 fit the file-name pattern");
        }
        String name = path.getFileName().toString();
        String prefix = name.endsWith(".gguf") ? name.substring(0, name.length() - 5) : name;
        List<Path> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Map<String, GgufValue> md = new LinkedHashMap<>();
            if (i == 0) {
                metadata.forEach((k, v) -> {
                    if (!SPLIT_KEYS.contains(k)) {
                        md.put(k, v);
                    }
                });
            } else if (alignment != GgufReader.DEFAULT_ALIGNMENT) {
                md.put("general.alignment", metadata.get("general.alignment"));
            }
            md.put("split.no", GgufValue.ofInteger(GgufValueType.UINT16, i));
            md.put("split.count", GgufValue.ofInteger(GgufValueType.UINT16, n));
            md.put("split.tensors.count", GgufValue.ofInt32(tensors.size()));
            Path p = path.resolveSibling(String.format("%s-%05d-of-%05d.gguf", prefix, i + 1, n));
            writeShard(p, md, shards.get(i));
            out.add(p);
        }
        return out;
    }

    private long align(long n) {
        return (n + alignment - 1) / alignment * alignment;
    }

    private void writeShard(Path path, Map<String, GgufValue> md, List<Pending> list) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
             Sink out = new Sink(ch)) {
            out.le32(GgufReader.MAGIC);
            out.le32(3);
            out.le64(list.size());
            out.le64(md.size());
            for (Map.Entry<String, GgufValue> e : md.entrySet()) {
                out.string(e.getKey());
                out.le32(e.getValue().type().id());
                writeValue(out, e.getValue());
            }
            long offset = 0;
            for (Pending t : list) {
                out.string(t.name);
                out.le32(t.shape.length);
                for (long d : t.shape) {
                    out.le64(d);
                }
                out.le32(t.type.id());
                out.le64(offset);
                offset = align(offset + t.bytes);
            }
            if (!list.isEmpty()) {
                out.pad(alignment);
            }
            OutputStream view = out.view();
            for (Pending t : list) {
                long start = out.count();
                if (t.source instanceof ZeroSource) {
                    out.skip(t.bytes);
                } else {
                    t.source.writeTo(view);
                }
                long written = out.count() - start;
                if (written != t.bytes) {
                    throw new IOException("tensor " + t.name + ": source wrote " + written + " bytes, expected " + t.bytes);
                }
                out.pad(alignment);
            }
        }
    }

    private static void writeValue(Sink out, GgufValue v) throws IOException {
        GgufValueType t = v.type();
        switch (t) {
            case FLOAT32 -> out.le32(Float.floatToRawIntBits(v.asFloat()));
            case FLOAT64 -> out.le64(Double.doubleToRawLongBits(v.asDouble()));
            case BOOL -> out.u8(v.asBoolean() ? 1 : 0);
            case STRING -> out.string(v.asString());
            case ARRAY -> {
                out.le32(v.elementType().id());
                writeArrayBody(out, v);
            }
            default -> out.integer(t, v.asLong());
        }
    }

    /** Length and elements of an array (its element type id is already written). */
    private static void writeArrayBody(Sink out, GgufValue v) throws IOException {
        GgufValueType et = v.elementType();
        out.le64(v.length());
        GgufValue.LazyStrings stored = v.lazyStrings();
        if (stored != null) { // read from a file and never decoded: copy the stored bytes as they are
            out.bytes(stored.bytes(), 0, stored.bytes().length);
            return;
        }
        switch (v.raw()) {
            case long[] a -> {
                for (long x : a) {
                    out.integer(et, x);
                }
            }
            case double[] a -> {
                if (et == GgufValueType.FLOAT32) {
                    for (double x : a) {
                        out.le32(Float.floatToRawIntBits((float) x));
                    }
                } else {
                    for (double x : a) {
                        out.le64(Double.doubleToRawLongBits(x));
                    }
                }
            }
            case boolean[] a -> {
                for (boolean x : a) {
                    out.u8(x ? 1 : 0);
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
                    writeArrayBody(out, x);
                }
            }
            default -> throw new IllegalStateException("unexpected array representation " + v.raw().getClass());
        }
    }

    /** Little-endian output through one direct buffer onto a file channel; counts the bytes written. */
    private static final class Sink implements AutoCloseable {
        private final FileChannel channel;
        private final ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        private long flushed;

        Sink(FileChannel channel) {
            this.channel = channel;
        }

        long count() {
            return flushed + buf.position();
        }

        private void room(int n) throws IOException {
            if (buf.remaining() < n) {
                flush();
            }
        }

        private void flush() throws IOException {
            buf.flip();
            while (buf.hasRemaining()) {
                flushed += channel.write(buf);
            }
            buf.clear();
        }

        void u8(int v) throws IOException {
            room(1);
            buf.put((byte) v);
        }

        void le16(int v) throws IOException {
            room(2);
            buf.putShort((short) v);
        }

        void le32(int v) throws IOException {
            room(4);
            buf.putInt(v);
        }

        void le64(long v) throws IOException {
            room(8);
            buf.putLong(v);
        }

        void integer(GgufValueType t, long v) throws IOException {
            switch (t.size()) {
                case 1 -> u8((int) v);
                case 2 -> le16((int) v);
                case 4 -> le32((int) v);
                case 8 -> le64(v);
                default -> throw new IllegalArgumentException("not an integer type: " + t);
            }
        }

        void bytes(byte[] b, int off, int len) throws IOException {
            if (len <= buf.remaining()) {
                buf.put(b, off, len);
                return;
            }
            flush();
            if (len <= buf.capacity()) {
                buf.put(b, off, len);
            } else {
                ByteBuffer w = ByteBuffer.wrap(b, off, len);
                while (w.hasRemaining()) {
                    flushed += channel.write(w);
                }
            }
        }

        void segment(MemorySegment s) throws IOException {
            flush();
            long chunk = 1L << 30;
            for (long off = 0; off < s.byteSize(); off += chunk) {
                ByteBuffer w = s.asSlice(off, Math.min(chunk, s.byteSize() - off)).asByteBuffer();
                while (w.hasRemaining()) {
                    flushed += channel.write(w);
                }
            }
        }

        /** Leaves {@code n} zero bytes (a hole) by moving the channel position. */
        void skip(long n) throws IOException {
            flush();
            channel.position(channel.position() + n);
            flushed += n;
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            le64(b.length);
            bytes(b, 0, b.length);
        }

        void pad(int alignment) throws IOException {
            while (count() % alignment != 0) {
                u8(0);
            }
        }

        /** The stream handed to tensor sources. */
        OutputStream view() {
            return new ViewStream(this);
        }

        @Override
        public void close() throws IOException {
            flush();
            if (channel.size() < flushed) { // a trailing hole: extend the file to its full length
                channel.write(ByteBuffer.allocate(1), flushed - 1);
            }
        }
    }

    /** OutputStream onto a {@link Sink}; {@link #addSegment} recognizes it to write mapped data directly. */
    private static final class ViewStream extends OutputStream {
        private final Sink sink;

        ViewStream(Sink sink) {
            this.sink = sink;
        }

        @Override
        public void write(int b) throws IOException {
            sink.u8(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            java.util.Objects.checkFromIndexSize(off, len, b.length);
            sink.bytes(b, off, len);
        }
    }
}
