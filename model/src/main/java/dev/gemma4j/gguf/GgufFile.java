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
    private final List<Path> shardPaths;
    private final Arena arena;

    private GgufFile(Path path, int version, Map<String, GgufValue> metadata, List<TensorInfo> tensors,
                     List<MemorySegment> shardData, List<Path> shardPaths, Arena arena) {
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
        this.shardPaths = List.copyOf(shardPaths);
        this.arena = arena;
    }

    /**
     * Opens a GGUF file. If the name has the form {@code X-0000k-of-0000N.gguf} (or the file carries
     * {@code split.count > 1}), all N shards are opened: metadata from the first, tensors from all.
     */
    public static GgufFile open(Path path) throws IOException {
        Path first = path;
        Matcher m = SPLIT.matcher(path.getFileName().toString());
        if (m.matches()) {
            first = path.resolveSibling(m.group(1) + "-00001-of-" + m.group(3) + ".gguf");
        }
        Arena arena = Arena.ofShared();
        try {
            GgufReader.Header h0 = GgufReader.readHeader(first, map(first, arena));
            int count = 1;
            GgufValue sc = h0.metadata().get("split.count");
            if (sc != null) {
                count = checkedSplitCount(first, sc);
            }
            List<GgufReader.Header> headers = new ArrayList<>();
            headers.add(h0);
            List<Path> paths = new ArrayList<>();
            paths.add(first);
            if (count > 1) {
                Matcher fm = SPLIT.matcher(first.getFileName().toString());
                if (!fm.matches()) {
                    throw new GgufFormatException(first, 0,
                        "split.count is " + count + " but the file name is not of the form NAME-00001-of-"
                            + String.format("%05d", count) + ".gguf");
                }
                for (int i = 2; i <= count; i++) {
                    Path p = first.resolveSibling(String.format("%s-%05d-of-%05d.gguf", fm.group(1), i, count));
                    if (!Files.exists(p)) {
                        throw new NoSuchFileException(p.toString(), null, "missing shard " + i + " of " + count);
                    }
                    GgufReader.Header h = GgufReader.readHeader(p, map(p, arena));
                    GgufValue no = h.metadata().get("split.no");
                    if (no != null && no.isInteger() && no.asLong() != i - 1) {
                        throw new GgufFormatException(p, 0, "split.no is " + no.asLong() + ", expected " + (i - 1));
                    }
                    headers.add(h);
                    paths.add(p);
                }
            }
            List<TensorInfo> all = new ArrayList<>();
            Map<String, Integer> seen = new LinkedHashMap<>();
            List<MemorySegment> data = new ArrayList<>();
            for (int s = 0; s < headers.size(); s++) {
                GgufReader.Header h = headers.get(s);
                data.add(h.data());
                for (TensorInfo t : h.tensors()) {
                    if (seen.putIfAbsent(t.name(), s) != null) {
                        throw new GgufFormatException(paths.get(s), 0,
                            "duplicate tensor name '" + t.name() + "' (also in shard " + (seen.get(t.name()) + 1) + ")");
                    }
                    all.add(new TensorInfo(t.name(), t.type(), t.shape(), t.offset(), s, t.byteSize()));
                }
            }
            GgufValue expected = h0.metadata().get("split.tensors.count");
            if (count > 1 && expected != null && expected.isInteger() && expected.asLong() != all.size()) {
                throw new GgufFormatException(first, 0,
                    "split.tensors.count is " + expected.asLong() + " but the shards hold " + all.size() + " tensors");
            }
            return new GgufFile(first, h0.version(), h0.metadata(), all, data, paths, arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static int checkedSplitCount(Path file, GgufValue sc) throws GgufFormatException {
        if (!sc.isInteger() || sc.asLong() < 1 || sc.asLong() > 9999) {
            throw new GgufFormatException(file, 0, "split.count must be an integer in 1..9999, got " + sc);
        }
        return (int) sc.asLong();
    }

    private static MemorySegment map(Path p, Arena arena) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        }
    }

    /** Path of the (first) file. */
    public Path path() {
        return path;
    }

    /** Paths of every shard, in order (one element for an unsplit file). */
    public List<Path> shardPaths() {
        return shardPaths;
    }

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

    /** The tensor's bytes, a read-only slice of the mapped file. */
    public MemorySegment tensorData(TensorInfo t) {
        return shardData.get(t.shard()).asSlice(t.offset(), t.byteSize());
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
