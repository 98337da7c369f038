package dev.gemma4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemma4j.engine.Engine;
import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.Session;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.gguf.TensorInfo;
import dev.gemma4j.model.Gemma4Config;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gemma bench}: prompt processing and generation speed, measured as llama.cpp's {@code llama-bench}
 * does: pp = one batch of P random prompt tokens into an empty context; tg = N single-token decoding steps
 * from an empty context; each after a warm-up run, repeated, reported as mean and standard deviation.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Measure prompt processing (pp) and generation (tg) tokens per second like llama-bench.")
final class BenchCommand implements Callable<Integer> {

    @Mixin
    EngineArgs engine;

    @Option(names = {"-p", "--n-prompt"}, paramLabel = "P", defaultValue = "512", description = "Prompt tokens of the pp test, 0 to skip (default: ${DEFAULT-VALUE}).")
    int prompt;

    @Option(names = {"-n", "--n-gen"}, paramLabel = "N", defaultValue = "128", description = "Generated tokens of the tg test, 0 to skip (default: ${DEFAULT-VALUE}).")
    int gen;

    @Option(names = {"-r", "--repetitions"}, paramLabel = "R", defaultValue = "3", description = "Measured runs per test (default: ${DEFAULT-VALUE}).")
    int repetitions;

    @Option(names = "--sessions", paramLabel = "S[,S...]", split = ",",
        description = "Also decode S sessions together (one Engine.decode per step for all of them, as the server batches)"
            + " for N steps each, and report aggregate tokens/s, e.g. --sessions 1,2,4,8.")
    int[] sessions;

    @Option(names = "--json", description = "Print {\"pp_tokens_per_s\", \"tg_tokens_per_s\", \"pp\", \"tg\", \"threads\","
        + " \"weight_bytes_per_token\", \"tg_weight_gb_per_s\", \"runs\": [...], \"sessions\": [...]}.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (prompt < 0 || gen < 0 || (prompt == 0 && gen == 0)) {
            throw new BadInputException("-p and -n must be ≥ 0 and not both 0");
        }
        if (repetitions < 1) {
            throw new BadInputException("--repetitions must be at least 1");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path model = engine.modelPath();
        try (GgufFile gguf = GgufFile.open(model)) {
            Gemma4Config cfg = Gemma4Config.read(gguf);
            // llama-bench's shape: the pp test is one batch of P tokens (unless -b says otherwise) in a
            // context just large enough for the longer test.
            EngineOptions opts = engine.options(cfg, Math.max(prompt, gen));
            if (engine.contextLength == null) {
                opts = opts.withContextLength(Math.max(Math.max(prompt, gen), 1));
            }
            if (engine.batch == null) {
                opts = opts.withPrefillChunk(Math.max(prompt, 1));
            }
            int th = opts.threads();
            int chunk = opts.prefillChunk();
            ObjectMapper m = new ObjectMapper();
            ObjectNode result = m.createObjectNode();
            result.put("model", model.toString());
            result.put("model_bytes", Files.size(model));
            result.put("pp", prompt);
            result.put("tg", gen);
            result.put("profile", engine.profile);
            result.put("threads", th);
            result.put("batch", chunk);
            result.put("mmap", opts.mmap());
            long bytesPerToken = weightBytesPerToken(gguf, cfg);
            result.put("weight_bytes_per_token", bytesPerToken);
            ArrayNode runs = result.putArray("runs");
            Random rnd = new Random(1234);
            try (Engine e = engine.open(gguf, opts); Session s = e.newSession()) {
                float[] logits = new float[cfg.vocabSize()];
                if (prompt > 0) {
                    int[] tokens = new int[prompt];
                    for (int i = 0; i < prompt; i++) {
                        tokens[i] = rnd.nextInt(cfg.vocabSize());
                    }
                    double[] rates = new double[repetitions];
                    for (int r = -1; r < repetitions; r++) {
                        s.reset();
                        long t0 = System.nanoTime();
                        e.prefill(s, tokens, logits);
                        double sec = (System.nanoTime() - t0) / 1e9;
                        if (r >= 0) {
                            rates[r] = prompt / sec;
                            addRun(runs, "pp", prompt, sec);
                            if (!json) {
                                err.printf("pp%d run %d: %.2f tokens/s (%.2f s)%n", prompt, r + 1, rates[r], sec);
                            }
                        }
                    }
                    summary(result, "pp", rates);
                    if (!json) {
                        err.printf("pp%d: %.2f ± %.2f tokens/s%n", prompt, mean(rates), stddev(rates));
                    }
                }
                if (gen > 0) {
                    double[] rates = new double[repetitions];
                    for (int r = -1; r < repetitions; r++) {
                        s.reset();
                        int tok = rnd.nextInt(cfg.vocabSize());
                        long t0 = System.nanoTime();
                        for (int i = 0; i < gen; i++) {
                            e.decode(s, tok, logits);
                        }
                        double sec = (System.nanoTime() - t0) / 1e9;
                        if (r >= 0) {
                            rates[r] = gen / sec;
                            addRun(runs, "tg", gen, sec).put("weight_gb_per_s", rates[r] * bytesPerToken / 1e9);
                            if (!json) {
                                err.printf("tg%d run %d: %.2f tokens/s, %.2f GB/s of weights (%.2f s)%n", gen, r + 1, rates[r],
                                    rates[r] * bytesPerToken / 1e9, sec);
                            }
                        }
                    }
                    summary(result, "tg", rates);
                    result.put("tg_weight_gb_per_s", mean(rates) * bytesPerToken / 1e9);
                    if (!json) {
                        err.printf("tg%d: %.2f ± %.2f tokens/s%n", gen, mean(rates), stddev(rates));
                    }
                }
            }
            if (sessions != null && gen > 0) {
                ArrayNode multi = result.putArray("sessions");
                for (int count : sessions) {
                    if (count < 1) {
                        throw new BadInputException("--sessions: counts must be at least 1");
                    }
                    double[] rates = new double[repetitions];
                    // all sessions in one batch: the prefill chunk bounds the rows of a step
                    try (Engine e = engine.open(gguf, opts.withPrefillChunk(Math.max(opts.prefillChunk(), count)))) {
                        List<Session> ss = new ArrayList<>();
                        for (int i = 0; i < count; i++) {
                            ss.add(e.newSession());
                        }
                        float[][] out2 = new float[count][cfg.vocabSize()];
                        int[] toks = new int[count];
                        try {
                            for (int r = -1; r < repetitions; r++) {
                                for (Session x : ss) {
                                    x.reset();
                                }
                                for (int i = 0; i < count; i++) {
                                    toks[i] = rnd.nextInt(cfg.vocabSize());
                                }
                                long t0 = System.nanoTime();
                                for (int i = 0; i < gen; i++) {
                                    e.decode(ss, toks, out2);
                                }
                                double sec = (System.nanoTime() - t0) / 1e9;
                                if (r >= 0) {
                                    rates[r] = (double) count * gen / sec;
                                    if (!json) {
                                        err.printf("tg%d x %d sessions run %d: %.2f tokens/s aggregate (%.2f s)%n", gen, count, r + 1,
                                            rates[r], sec);
                                    }
                                }
                            }
                        } finally {
                            for (Session x : ss) {
                                x.close();
                            }
                        }
                    }
                    ObjectNode o = multi.addObject();
                    o.put("sessions", count);
                    o.put("tg", gen);
                    o.put("tokens_per_s", mean(rates));
                    o.put("stddev", stddev(rates));
                    ArrayNode each = o.putArray("runs");
                    for (double rate : rates) {
                        each.add(rate);
                    }
                }
            }
            if (json) {
                out.println(result);
            } else {
                out.printf("model %s, %d threads, batch %d%n", model, th, chunk);
                if (prompt > 0) {
                    out.printf("pp%-6d %10.2f ± %.2f tokens/s%n", prompt, result.get("pp_tokens_per_s").asDouble(),
                        result.get("pp_stddev").asDouble());
                }
                if (gen > 0) {
                    out.printf("tg%-6d %10.2f ± %.2f tokens/s   %.1f MB of weights per token, %.2f GB/s%n", gen,
                        result.get("tg_tokens_per_s").asDouble(), result.get("tg_stddev").asDouble(), bytesPerToken / 1e6,
                        result.get("tg_weight_gb_per_s").asDouble());
                }
                if (result.has("sessions")) {
                    for (var o : result.get("sessions")) {
                        out.printf("tg%-6d x %d sessions %10.2f ± %.2f tokens/s aggregate%n", gen, o.get("sessions").asInt(),
                            o.get("tokens_per_s").asDouble(), o.get("stddev").asDouble());
                    }
                }
            }
            out.flush();
        }
        return 0;
    }

    /**
     * Weight bytes one decoding step reads: every tensor once, except the experts (the top-k of each MoE
     * layer: expertsUsed/expertCount of their bytes) and the token embedding (one row; all of it when it is
     * also the LM head, i.e. the file has no output.weight).
     */
    static long weightBytesPerToken(GgufFile gguf, Gemma4Config cfg) {
        boolean tied = gguf.tensors().stream().noneMatch(t -> t.name().equals("output.weight"));
        long bytes = 0;
        for (TensorInfo t : gguf.tensors()) {
            if (t.name().startsWith("token_embd")) {
                bytes += tied ? t.byteSize() : t.rowBytes();
            } else if (t.name().contains("_exps") && cfg.expertCount() > 0) {
                int used = cfg.layerCount() == 0 ? cfg.expertCount() : cfg.layer(0).expertsUsed();
                bytes += t.byteSize() * used / cfg.expertCount();
            } else {
                bytes += t.byteSize();
            }
        }
        return bytes;
    }

    private static ObjectNode addRun(ArrayNode runs, String test, int tokens, double sec) {
        ObjectNode o = runs.addObject();
        o.put("test", test);
        o.put("tokens", tokens);
        o.put("seconds", sec);
        o.put("tokens_per_s", tokens / sec);
        return o;
    }

    private static void summary(ObjectNode o, String test, double[] rates) {
        o.put(test + "_tokens_per_s", mean(rates));
        o.put(test + "_stddev", stddev(rates));
    }

    static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s / v.length;
    }

    static double stddev(double[] v) {
        if (v.length < 2) {
            return 0;
        }
        double m = mean(v);
        double s = 0;
        for (double x : v) {
            s += (x - m) * (x - m);
        }
        return Math.sqrt(s / (v.length - 1));
    }
}
