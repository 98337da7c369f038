package dev.gemma4j.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files written by {@link GgufWriter} are read by llama.cpp's JavaScript GGUF reader (node-llama-cpp
 * 3.21.1, {@code readGgufFileInfo}, via {@code tools/reference/gguf-info.mjs}) and must show the same
 * metadata values, tensor table and data offsets as our reader sees. Skipped only when {@code node} or the
 * reference install ({@code tools/reference/install.sh}) is missing.
 */
class GgufLlamaCppReaderTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path script;

    @TempDir
    Path dir;

    @BeforeAll
    static void findReference() {
        Path d = Path.of("").toAbsolutePath();
        while (d != null && !Files.exists(d.resolve("tools/reference/gguf-info.mjs"))) {
            d = d.getParent();
        }
        assumeTrue(d != null, "tools/reference/gguf-info.mjs not found above the working directory");
        script = d.resolve("tools/reference/gguf-info.mjs");
        assumeTrue(Files.isDirectory(d.resolve("tools/reference/node_modules/node-llama-cpp")),
            "node-llama-cpp is not installed (run tools/reference/install.sh)");
        assumeTrue(nodeWorks(), "node is not on the PATH");
    }

    private static boolean nodeWorks() {
        try {
            Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static JsonNode llamaCppInfo(Path file) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("node", script.toString(), file.toString())
            .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "node did not finish");
        assertEquals(0, p.exitValue(), "node-llama-cpp could not read " + file + ": " + new String(out, StandardCharsets.UTF_8));
        return JSON.readTree(out);
    }

    @Test
    void singleFileWithEveryValueTypeAndTensorTypeReadsTheSameInLlamaCpp() throws Exception {
        Path p = dir.resolve("single.gguf");
        GgufSamples.smallModel(64).write(p);
        JsonNode info = llamaCppInfo(p);
        GgufReader.Header h = GgufReader.readHeader(p, MemorySegment.ofArray(Files.readAllBytes(p)));
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(3, info.get("version").asInt());
            assertEquals(1, info.get("splicedParts").asInt());
            assertEquals(h.dataStart(), info.get("infoEndOffset").asLong(), "data area start");
            compareMetadata(f.metadata(), info.get("metadata"));
            compareTensors(f, List.of(h.dataStart()), info.get("tensors"));
        }
    }

    @Test
    void splitFilesAreSplicedByLlamaCppLikeByUs() throws Exception {
        List<Path> parts = GgufSamples.smallModel(32).writeSplit(dir.resolve("split.gguf"), 2, Long.MAX_VALUE);
        assertEquals(3, parts.size());
        JsonNode info = llamaCppInfo(parts.get(0));
        List<Long> dataStarts = new ArrayList<>();
        for (Path part : parts) {
            dataStarts.add(GgufReader.readHeader(part, MemorySegment.ofArray(Files.readAllBytes(part))).dataStart());
        }
        try (GgufFile f = GgufFile.open(parts.get(1))) {
            assertEquals(3, info.get("splicedParts").asInt());
            assertEquals(5, info.get("tensorCount").asLong());
            compareMetadata(f.metadata(), info.get("metadata"));
            compareTensors(f, dataStarts, info.get("tensors"));
        }
    }

    private static void compareMetadata(Map<String, GgufValue> ours, JsonNode theirs) {
        List<String> theirKeys = new ArrayList<>();
        theirs.fieldNames().forEachRemaining(theirKeys::add);
        assertEquals(ours.keySet().stream().sorted().toList(), theirKeys.stream().sorted().toList(), "metadata keys");
        for (Map.Entry<String, GgufValue> e : ours.entrySet()) {
            compareValue(e.getKey(), e.getValue(), theirs.get(e.getKey()));
        }
    }

    private static void compareValue(String key, GgufValue v, JsonNode j) {
        switch (v.type()) {
            case STRING -> assertEquals(v.asString(), j.asText(), key);
            case BOOL -> assertEquals(v.asBoolean(), j.asBoolean(), key);
            case FLOAT32, FLOAT64 -> assertEquals(v.asDouble(), j.asDouble(), key);
            case ARRAY -> {
                assertTrue(j.isArray(), key + " is an array in llama.cpp");
                assertEquals(v.length(), j.size(), key + " length");
                for (int i = 0; i < v.length(); i++) {
                    compareElement(key + "[" + i + "]", v, i, j.get(i));
                }
            }
            default -> assertEquals(v.asLong(), integer(j), key);
        }
    }

    private static void compareElement(String key, GgufValue array, int i, JsonNode j) {
        switch (array.raw()) {
            case long[] a -> assertEquals(a[i], integer(j), key);
            case double[] a -> assertEquals(a[i], j.asDouble(), key);
            case boolean[] a -> assertEquals(a[i], j.asBoolean(), key);
            case String[] a -> assertEquals(a[i], j.asText(), key);
            case GgufValue[] a -> compareValue(key, a[i], j);
            default -> throw new AssertionError(key);
        }
    }

    /** 64-bit integers come as decimal strings (JavaScript BigInt), narrower ones as numbers. */
    private static long integer(JsonNode j) {
        return j.isTextual() ? new java.math.BigInteger(j.asText()).longValue() : j.asLong();
    }

    private static void compareTensors(GgufFile f, List<Long> dataStarts, JsonNode theirs) {
        assertEquals(f.tensors().size(), theirs.size(), "tensor count");
        for (int i = 0; i < theirs.size(); i++) {
            JsonNode t = theirs.get(i);
            TensorInfo ours = f.tensors().get(i);
            assertEquals(ours.name(), t.get("name").asText());
            assertEquals(ours.type().id(), t.get("ggmlType").asInt(), ours.name());
            assertEquals(ours.shape().length, t.get("dimensions").size(), ours.name());
            for (int d = 0; d < ours.shape().length; d++) {
                assertEquals(ours.shape()[d], integer(t.get("dimensions").get(d)), ours.name());
            }
            assertEquals(ours.offset(), integer(t.get("offset")), ours.name());
            assertEquals(ours.shard() + 1, t.get("filePart").asInt(), ours.name());
            assertEquals(dataStarts.get(ours.shard()) + ours.offset(), integer(t.get("fileOffset")), ours.name());
        }
    }
}
