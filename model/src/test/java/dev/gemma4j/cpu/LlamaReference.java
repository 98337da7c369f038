package dev.gemma4j.cpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * llama.cpp as the reference: runs {@code tools/reference/llama-logits.mjs} (node-llama-cpp 3.21.1,
 * installed by {@code tools/reference/install.sh}) on a GGUF and returns its last-position
 * log-probabilities and greedy continuation for each token list.
 */
public final class LlamaReference {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One prompt's answer: log-softmax of the last position's logits; greedy ids with llama.cpp's top-two gaps. */
    public record Result(double[] logprobs, int[] greedy, double[] gaps) {
    }

    /** A prompt to evaluate and how many greedy tokens to continue with. */
    public record Request(int[] tokens, int greedy) {
    }

    private LlamaReference() {
    }

    public static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("tools/reference/llama-logits.mjs"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("tools/reference/llama-logits.mjs not found above " + Path.of("").toAbsolutePath());
        }
        return p;
    }

    public static List<Result> run(Path model, int vocab, int contextSize, int batchSize, String kvCacheType, List<Request> requests)
        throws IOException, InterruptedException {
        Path dir = repoRoot().resolve("tools/reference");
        if (!Files.isDirectory(dir.resolve("node_modules/node-llama-cpp"))) {
            throw new IllegalStateException("llama.cpp reference not installed: run tools/reference/install.sh");
        }
        ObjectNode req = JSON.createObjectNode();
        req.put("model", model.toAbsolutePath().toString());
        req.put("contextSize", contextSize);
        req.put("batchSize", batchSize);
        req.put("threads", 1);
        req.put("vocab", vocab);
        req.put("kvCacheType", kvCacheType);
        ArrayNode rs = req.putArray("requests");
        for (Request r : requests) {
            ObjectNode o = rs.addObject();
            ArrayNode t = o.putArray("tokens");
            for (int id : r.tokens()) {
                t.add(id);
            }
            o.put("greedy", r.greedy());
        }
        Path in = Files.createTempFile("llama-req", ".json");
        Path out = Files.createTempFile("llama-out", ".json");
        Path err = Files.createTempFile("llama-err", ".txt");
        try {
            JSON.writeValue(in.toFile(), req);
            Process p = new ProcessBuilder("node", dir.resolve("llama-logits.mjs").toString(), in.toString())
                .directory(dir.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("llama.cpp reference timed out");
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException("llama.cpp reference failed (" + p.exitValue() + "): " + Files.readString(err));
            }
            JsonNode root = JSON.readTree(out.toFile());
            List<Result> results = new ArrayList<>();
            for (JsonNode r : root.get("results")) {
                JsonNode lp = r.get("logprobs");
                double[] l = new double[lp.size()];
                for (int i = 0; i < l.length; i++) {
                    l[i] = lp.get(i).asDouble();
                }
                JsonNode g = r.get("greedy");
                int[] ids = new int[g.size()];
                double[] gaps = new double[g.size()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = g.get(i).get("id").asInt();
                    gaps[i] = g.get(i).get("gap").asDouble();
                }
                results.add(new Result(l, ids, gaps));
            }
            return results;
        } finally {
            Files.deleteIfExists(in);
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
