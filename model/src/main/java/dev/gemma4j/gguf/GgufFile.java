package dev.gemma4j.gguf;

import dev.gemma4j.tensor.GgmlType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An open GGUF model: metadata, tensor table and the memory-mapped tensor data of one file or of all
 * shards of a split model ({@code name-00001-of-0000N.gguf}). Nothing of the tensor data is copied onto
 * the heap; {@link #tensorData(TensorInfo)} returns a slice of the mapping. Closing unmaps every shard.
 */
public final class GgufFile implements AutoCloseable {
    private static final Pattern SPLIT = Pattern.compile("(.*)-(\\d{5})-of-(\\d{5})\\.gguf");

    private final Path path;
    private final int version;
    private final Map<String, GgufValue> metadata;
    private final List<TensorInfo> tensors;
    private final Map<String, TensorInfo> byName;
    private final List<MemorySegment> shardData;
    private final List<Long> shardDataStart;
    private final List<Path> shardPaths;
    private final long alignment;
    private final Arena arena;

    private GgufFile(Path path, int version, Map<String, GgufValue> metadata, List<TensorInfo> tensors,
                     List<MemorySegment> shardData, List<Long> shardDataStart, List<Path> shardPaths, long alignment, Arena arena) {
        this.alignment = alignment;
        this.path = path;
        this.version = version;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.tensors = List.copyOf(tensors);
        Map<String, TensorInfo> m = new LinkedHashMap<>();
        for (TensorInfo t : tensors) {
            m.put(t.name(), t);
        }
        this.byName = Collections.unmodifiableMap(m);
        this.shardData = List.copyOf(shardData);
        this.shardDataStart = List.copyOf(shardDataStart);
        this.shardPaths = List.copyOf(shardPaths);
        this.arena = arena;
    }

    /**
     * Opens a GGUF file through a memory map; only the header is parsed (tensor data stays on disk until
     * touched). A split model ({@code NAME-0000k-of-0000N.gguf} with {@code split.count = N}) is opened
     * whole from the path of any of its shards: metadata from the first shard, tensors from all of them.
     *
     * @throws GgufFormatException if a file is not a well-formed GGUF file or the shards do not fit together
     * @throws java.nio.file.NoSuchFileException if the file or one of the shards is missing
     */
    public static GgufFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try {
            GgufReader.Header given = GgufReader.readHeader(path, map(path, arena));
            int count = splitCount(path, given);
            if (count == 1) {
                return new GgufFile(path, given.version(), given.metadata(), given.tensors(),
                    List.of(given.data()), List.of(given.dataStart()), List.of(path), given.alignment(), arena);
            }
            Matcher m = SPLIT.matcher(path.getFileName().toString());
            if (!m.matches() || Integer.parseInt(m.group(3)) != count) {
                throw new GgufFormatException(path, given.keyOffsets().get("split.count"), "split.count is " + count
                    + " but the file name does not end in -NNNNN-of-" + String.format("%05d", count) + ".gguf");
            }
            int k = Integer.parseInt(m.group(2));
            if (k < 1 || k > count) {
                throw new GgufFormatException(path, 0, "shard number " + k + " in the file name is outside 1.." + count);
            }
            List<GgufReader.Header> headers = new ArrayList<>();
            List<Path> paths = new ArrayList<>();
            for (int i = 1; i <= count; i++) {
                Path p = path.resolveSibling(String.format("%s-%05d-of-%05d.gguf", m.group(1), i, count));
                GgufReader.Header h;
                if (i == k) {
                    h = given;
                } else if (!Files.exists(p)) {
                    throw new NoSuchFileException(p.toString(), null, "shard " + i + " of " + count + " is missing");
                } else {
                    h = GgufReader.readHeader(p, map(p, arena));
                }
                checkShard(p, h, i - 1, count);
                headers.add(h);
                paths.add(p);
            }
            GgufReader.Header h0 = headers.get(0);
            List<TensorInfo> all = new ArrayList<>();
            Map<String, Integer> seen = new HashMap<>();
            List<MemorySegment> data = new ArrayList<>();
            List<Long> dataStart = new ArrayList<>();
            for (int s = 0; s < headers.size(); s++) {
                GgufReader.Header h = headers.get(s);
                data.add(h.data());
                dataStart.add(h.dataStart());
                for (TensorInfo t : h.tensors()) {
                    Integer other = seen.putIfAbsent(t.name(), s);
                    if (other != null) {
                        throw new GgufFormatException(paths.get(s), h.dataStart(),
                            "duplicate tensor name '" + t.name() + "': also in shard " + (other + 1) + " (" + paths.get(other).getFileName() + ")");
                    }
                    all.add(new TensorInfo(t.name(), t.type(), t.shape(), t.offset(), s, t.byteSize()));
                }
            }
            GgufValue expected = h0.metadata().get("split.tensors.count");
            if (expected != null && (!expected.isInteger() || expected.asLong() != all.size())) {
                throw new GgufFormatException(paths.get(0), h0.keyOffsets().get("split.tensors.count"),
                    "split.tensors.count is " + expected + " but the " + count + " shards hold " + all.size() + " tensors");
            }
            return new GgufFile(paths.get(0), h0.version(), h0.metadata(), all, data, dataStart, paths, h0.alignment(), arena);
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** {@code split.count} of a header, 1 if absent. */
    private static int splitCount(Path file, GgufReader.Header h) throws GgufFormatException {
        GgufValue sc = h.metadata().get("split.count");
        if (sc == null) {
            return 1;
        }
        if (!sc.isInteger() || sc.asLong() < 1 || sc.asLong() > 65535) {
            throw new GgufFormatException(file, h.keyOffsets().get("split.count"),
                "split.count must be an integer in 1..65535, got " + sc.describe() + " " + sc);
        }
        return (int) sc.asLong();
    }

    private static void checkShard(Path p, GgufReader.Header h, int no, int count) throws GgufFormatException {
        int c = splitCount(p, h);
        if (c != count) {
            throw new GgufFormatException(p, h.keyOffsets().getOrDefault("split.count", 0L),
                "split.count is " + (h.metadata().containsKey("split.count") ? c : "missing") + ", expected " + count
                    + " as in the other shards");
        }
        GgufValue v = h.metadata().get("split.no");
        if (v == null) {
            throw new GgufFormatException(p, 0, "key split.no is missing, expected " + no + " (0-based shard number)");
        }
        if (!v.isInteger() || v.asLong() != no) {
            throw new GgufFormatException(p, h.keyOffsets().get("split.no"),
                "split.no is " + v + ", expected " + no + " (0-based) for shard " + (no + 1) + " of " + count);
        }
    }

    private static MemorySegment map(Path p, Arena arena) throws IOException {
        if (Files.isDirectory(p)) {
            throw new GgufFormatException(p, 0, "is a directory, expected a GGUF file");
        }
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        }
    }

    /** Byte offset of a tensor's data in its shard's file ({@link #shardPaths()}), e.g. to patch or inspect it. */
    public long fileOffset(TensorInfo t) {
        return shardDataStart.get(t.shard()) + t.offset();
    }

    /** Path of the (first) file. */
    public Path path() {
        return path;
    }

    /** Paths of every shard, in order (one element for an unsplit file). */
    public List<Path> shardPaths() {
        return shardPaths;
    }

    /** Data alignment of the (first) file: {@code general.alignment} or 32. */
    public long alignment() {
        return alignment;
    }

    /** GGUF version of the (first) file, 2 or 3. */
    public int version() {
        return version;
    }

    /** All key/value pairs of the (first) file, in file order. */
    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    /** The value for {@code key}, or {@code null}. */
    public GgufValue get(String key) {
        return metadata.get(key);
    }

    public String architecture() {
        GgufValue v = metadata.get("general.architecture");
        return v != null && v.type() == GgufValueType.STRING ? v.asString() : null;
    }

    public List<TensorInfo> tensors() {
        return tensors;
    }

    /** The tensor with this name, or {@code null}. */
    public TensorInfo tensor(String name) {
        return byName.get(name);
    }

    /** The tensor's bytes, a read-only slice of the mapped file (valid until {@link #close()}). */
    public MemorySegment tensorData(TensorInfo t) {
        return shardData.get(t.shard()).asSlice(t.offset(), t.byteSize());
    }

    /** Total number of elements (parameters) over all tensors. */
    public long totalElements() {
        long n = 0;
        for (TensorInfo t : tensors) {
            n += t.elements();
        }
        return n;
    }

    /** Total bytes of tensor data. */
    public long totalTensorBytes() {
        long n = 0;
        for (TensorInfo t : tensors) {
            n += t.byteSize();
        }
        return n;
    }

    @Override
    public void close() {
        arena.close();
    }

    /** Convenience for readers of known ggml types. */
    public static boolean isKnownType(int id) {
        return GgmlType.byId(id) != null;
    }
}
