package dev.gemma4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.gemma4j.synth.SynthConfig;
import dev.gemma4j.synth.SynthModel;
import dev.gemma4j.synth.SynthType;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gemma synth}: writes a random-weight Gemma 4 GGUF model that llama.cpp loads and runs. */
@Command(name = "synth", mixinStandardHelpOptions = true,
    description = {"Write a random-weight Gemma 4 (gemma4 architecture) GGUF model with every feature of 26B-A4B.",
        "Presets: tiny (a few MB, unit tests), small (tens of MB), quarter (about 6B parameters, 12 layers, 64 experts),",
        "full (the real 26B-A4B shapes). The dimension options override the preset's values."})
final class SynthCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--preset", defaultValue = "tiny", description = "tiny, small, quarter or full (default: ${DEFAULT-VALUE})")
    String preset;

    @Option(names = "--type", defaultValue = "F32",
        description = "F32, F16, BF16, Q8_0, Q4_0, Q4_K_M, Q6_K or MXFP4_MOE (default: ${DEFAULT-VALUE})")
    String type;

    @Option(names = "--seed", defaultValue = "1", description = "weight seed; the same seed gives the same bytes (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = {"-o", "--out"}, required = true, description = "output GGUF file")
    Path out;

    @Option(names = "--threads", description = "encoding threads (default: all processors)")
    Integer threads;

    @Option(names = "--json", description = "print a JSON summary (path, bytes, parameters, tensors, seconds, types)")
    boolean json;

    @Option(names = "--layers", description = "number of layers")
    Integer layers;

    @Option(names = "--width", description = "model width D (embedding length)")
    Integer width;

    @Option(names = "--heads", description = "query heads (all layers)")
    Integer heads;

    @Option(names = "--head-dim", description = "head dim of sliding layers")
    Integer headDimSwa;

    @Option(names = "--global-head-dim", description = "head dim of full (global) layers")
    Integer headDimFull;

    @Option(names = "--kv-heads", description = "KV heads of sliding layers")
    Integer kvHeadsSwa;

    @Option(names = "--global-kv-heads", description = "KV heads of full (global) layers")
    Integer kvHeadsFull;

    @Option(names = "--experts", description = "number of experts")
    Integer experts;

    @Option(names = "--experts-per-token", description = "experts used per token (top-k)")
    Integer expertsPerToken;

    @Option(names = "--expert-width", description = "expert MLP width")
    Integer expertWidth;

    @Option(names = "--dense-width", description = "dense (shared) MLP width")
    Integer denseWidth;

    @Option(names = "--vocab", description = "vocabulary size (at least 1024)")
    Integer vocab;

    @Option(names = "--sliding-window", description = "sliding-window length of sliding layers")
    Integer slidingWindow;

    @Option(names = "--layer-pattern", description = "S (sliding) / F (full) letters, repeated over the layers, e.g. SSSSSF")
    String layerPattern;

    @Option(names = "--context-length", description = "training context length written to the metadata")
    Integer contextLength;

    @Option(names = "--split-experts", description = "write ffn_gate_exps + ffn_up_exps instead of merged ffn_gate_up_exps")
    boolean splitExperts;

    @Option(names = "--dense", description = "no MoE: every layer is a dense GEGLU MLP")
    boolean dense;

    @Option(names = "--untied-output", description = "write a separate output.weight (LM head)")
    boolean untiedOutput;

    @Override
    public Integer call() throws Exception {
        SynthType t = SynthType.parse(type);
        SynthConfig.Builder b = SynthConfig.preset(preset).toBuilder();
        if (layers != null) {
            b.layers = layers;
        }
        if (width != null) {
            b.width = width;
        }
        if (heads != null) {
            b.heads = heads;
        }
        if (headDimSwa != null) {
            b.headDimSwa = headDimSwa;
        }
        if (headDimFull != null) {
            b.headDimFull = headDimFull;
        }
        if (kvHeadsSwa != null) {
            b.kvHeadsSwa = kvHeadsSwa;
        }
        if (kvHeadsFull != null) {
            b.kvHeadsFull = kvHeadsFull;
        }
        if (experts != null) {
            b.experts = experts;
        }
        if (expertsPerToken != null) {
            b.expertsPerToken = expertsPerToken;
        }
        if (expertWidth != null) {
            b.expertWidth = expertWidth;
        }
        if (denseWidth != null) {
            b.denseWidth = denseWidth;
        }
        if (vocab != null) {
            b.vocab = vocab;
        }
        if (slidingWindow != null) {
            b.slidingWindow = slidingWindow;
        }
        if (layerPattern != null) {
            b.patternLetters = layerPattern;
        }
        if (contextLength != null) {
            b.contextLength = contextLength;
        }
        b.dense |= dense;
        b.splitExperts |= splitExperts;
        b.untiedOutput |= untiedOutput;
        SynthConfig config = b.build();
        if (threads != null && threads < 1) {
            throw new BadInputException("--threads must be at least 1, got " + threads);
        }
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new BadInputException("output directory does not exist: " + parent);
        }
        int n = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        SynthModel.Plan plan = SynthModel.plan(config, t, seed);
        SynthModel.Summary s;
        try {
            s = SynthModel.write(plan, out, n);
        } catch (RuntimeException | java.io.IOException e) {
            Files.deleteIfExists(out);
            throw e;
        }
        PrintWriter w = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("path", s.path().toString());
            m.put("bytes", s.bytes());
            m.put("parameters", s.parameters());
            m.put("tensors", s.tensors());
            m.put("seconds", Math.round(s.seconds() * 1000) / 1000.0);
            m.put("preset", config.name());
            m.put("type", t.name());
            m.put("seed", seed);
            m.put("config", configMap(config));
            m.put("types", s.types());
            w.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(m));
        } else {
            w.printf("wrote %s: %,d bytes, %,d parameters, %d tensors in %.1f s%n  %s%n  types %s%n",
                s.path(), s.bytes(), s.parameters(), s.tensors(), s.seconds(), config, s.types());
        }
        w.flush();
        return 0;
    }

    private static Map<String, Object> configMap(SynthConfig c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("layers", c.layers());
        m.put("layer_pattern", c.patternLetters());
        m.put("width", c.width());
        m.put("heads", c.heads());
        m.put("head_dim", c.headDimSwa());
        m.put("global_head_dim", c.headDimFull());
        m.put("kv_heads", c.kvHeadsSwa());
        m.put("global_kv_heads", c.kvHeadsFull());
        m.put("dense", c.dense());
        if (!c.dense()) {
            m.put("experts", c.experts());
            m.put("experts_per_token", c.expertsPerToken());
            m.put("expert_width", c.expertWidth());
            m.put("split_experts", c.splitExperts());
        }
        m.put("dense_width", c.denseWidth());
        m.put("vocab", c.vocab());
        m.put("sliding_window", c.slidingWindow());
        m.put("context_length", c.contextLength());
        m.put("untied_output", c.untiedOutput());
        return m;
    }
}
