package dev.gemma4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemma4j.chat.ChatMessage;
import dev.gemma4j.chat.ChatRequest;
import dev.gemma4j.chat.Gemma4ChatTemplate;
import dev.gemma4j.engine.ContextOverflowException;
import dev.gemma4j.engine.Engine;
import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.Generator;
import dev.gemma4j.engine.Session;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.gguf.GgufValue;
import dev.gemma4j.gguf.GgufValueType;
import dev.gemma4j.model.Gemma4Config;
import dev.gemma4j.model.Gemma4Gguf;
import dev.gemma4j.sampling.Sampler;
import dev.gemma4j.sampling.SamplerConfig;
import dev.gemma4j.sampling.StopTokens;
import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import dev.gemma4j.tokenizer.StreamingDecoder;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gemma generate}: a prompt in, generated tokens and text out, on the engine of the chosen profile. */
@Command(name = "generate", mixinStandardHelpOptions = true,
    description = {"Generate a continuation of a prompt (on the CPU engine, or the backend --profile names).",
        "A --prompt is rendered as one user turn of the chat format unless --raw is given (then it is plain"
            + " completion text after BOS, special-token texts parsed as llama.cpp does); --messages takes an"
            + " OpenAI chat-completions request body; --tokens takes token ids as they are."})
final class GenerateCommand implements Callable<Integer> {

    /** Where the prompt comes from (exactly one). */
    static final class PromptArgs {
        @Option(names = "--tokens", paramLabel = "IDS", description = "Comma-separated token ids, used as they are (no BOS added).")
        String tokens;

        @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "Prompt text.")
        String prompt;

        @Option(names = {"-f", "--prompt-file"}, paramLabel = "F", description = "Read the prompt text from this UTF-8 file.")
        Path promptFile;

        @Option(names = "--messages", paramLabel = "FILE", description = "An OpenAI chat-completions request body (messages, tools, chat_template_kwargs).")
        Path messages;
    }

    @Mixin
    EngineArgs engine;

    @ArgGroup(exclusive = true, multiplicity = "1")
    PromptArgs input;

    @Option(names = "--raw", description = "Feed --prompt/--prompt-file as plain completion text (BOS + text) instead of a chat turn.")
    boolean raw;

    @Option(names = "--think", paramLabel = "on|off", defaultValue = "off",
        description = "Thinking mode for chat-format prompts (default: ${DEFAULT-VALUE}; --messages may set it with chat_template_kwargs).")
    String think;

    @Option(names = {"-n", "--max-tokens"}, paramLabel = "N", defaultValue = "256", description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Mixin
    SamplingArgs sampling;

    @Option(names = "--json", description = "Print {\"prompt_ids\", \"ids\", \"text\", \"finish_reason\", \"timings\"} instead of streaming the text.")
    boolean json;

    @Spec
    CommandSpec spec;

    /** Sampling options. */
    static final class SamplingArgs {
        @Option(names = "--temperature", paramLabel = "T", defaultValue = "0", description = "0 = greedy (default: ${DEFAULT-VALUE}).")
        float temperature;

        @Option(names = "--top-k", paramLabel = "K", defaultValue = "64", description = "0 = off (default: ${DEFAULT-VALUE}).")
        int topK;

        @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.95", description = "1 = off (default: ${DEFAULT-VALUE}).")
        float topP;

        @Option(names = "--min-p", paramLabel = "P", defaultValue = "0", description = "0 = off (default: ${DEFAULT-VALUE}).")
        float minP;

        @Option(names = "--repeat-penalty", paramLabel = "X", defaultValue = "1", description = "1 = off (default: ${DEFAULT-VALUE}).")
        float repeatPenalty;

        @Option(names = "--presence-penalty", paramLabel = "X", defaultValue = "0", description = "0 = off (default: ${DEFAULT-VALUE}).")
        float presencePenalty;

        @Option(names = "--frequency-penalty", paramLabel = "X", defaultValue = "0", description = "0 = off (default: ${DEFAULT-VALUE}).")
        float frequencyPenalty;

        @Option(names = "--repeat-last-n", paramLabel = "N", defaultValue = "64", description = "Tokens the penalties look back over (default: ${DEFAULT-VALUE}).")
        int repeatLastN;

        @Option(names = {"-s", "--seed"}, paramLabel = "S", description = "Seed of the draw (default: random); the same seed gives the same output.")
        Long seed;

        SamplerConfig config() {
            try {
                return new SamplerConfig(temperature, topK, topP, minP, repeatPenalty, presencePenalty, frequencyPenalty, repeatLastN,
                    seed != null ? seed : new java.util.Random().nextLong());
            } catch (IllegalArgumentException e) {
                throw new BadInputException(e.getMessage());
            }
        }
    }

    @Override
    public Integer call() throws IOException {
        if (maxTokens < 0) {
            throw new BadInputException("--max-tokens must be ≥ 0");
        }
        EngineArgs ea = engine;
        try (GgufFile gguf = GgufFile.open(ea.modelPath())) {
            Gemma4Config cfg = Gemma4Config.read(gguf);
            Gemma4Tokenizer tokenizer = tokenizer(gguf);
            boolean thinking = onOff("--think", think);
            int[] promptIds = promptIds(input, raw, thinking, gguf, tokenizer, cfg);
            EngineOptions opts = ea.options(cfg, promptIds.length + maxTokens);
            SamplerConfig sc = sampling.config();
            PrintWriter out = spec.commandLine().getOut();
            try (Engine e = ea.open(gguf, opts); Session session = e.newSession()) {
                Sampler sampler = new Sampler(sc, cfg.vocabSize());
                StopTokens stops = StopTokens.of(gguf);
                StreamingDecoder stream = tokenizer != null && !json ? tokenizer.streamingDecoder(false) : null;
                Generator.Result r;
                try {
                    r = Generator.generate(e, session, promptIds, sampler, stops, maxTokens, tok -> {
                        if (stream != null) {
                            out.print(stream.accept(tok));
                            out.flush();
                        }
                        return true;
                    });
                } catch (ContextOverflowException ex) {
                    throw new BadInputException("the prompt (" + promptIds.length + " tokens) does not fit the context length "
                        + opts.contextLength() + "; raise --ctx-size");
                }
                String text = tokenizer != null ? tokenizer.decode(r.ids(), false) : "";
                if (json) {
                    out.println(resultJson(promptIds, r, text, tokenizer != null));
                } else {
                    if (stream != null) {
                        out.println(stream.flush());
                    } else {
                        out.println(joinIds(r.ids()));
                    }
                    Generator.Timings t = r.timings();
                    spec.commandLine().getErr().printf("[%d prompt tokens, %.1f tok/s; %d generated, %.1f tok/s; %s]%n",
                        t.promptTokens(), t.promptTokensPerSecond(), t.generatedTokens(), t.generationTokensPerSecond(),
                        r.finishReason().wireName());
                }
                out.flush();
            }
        }
        return 0;
    }

    static String resultJson(int[] promptIds, Generator.Result r, String text, boolean hasText) {
        ObjectMapper m = new ObjectMapper();
        ObjectNode o = m.createObjectNode();
        ArrayNode p = o.putArray("prompt_ids");
        for (int id : promptIds) {
            p.add(id);
        }
        ArrayNode ids = o.putArray("ids");
        for (int id : r.ids()) {
            ids.add(id);
        }
        if (hasText) {
            o.put("text", text);
        } else {
            o.putNull("text");
        }
        o.put("finish_reason", r.finishReason().wireName());
        Generator.Timings t = r.timings();
        ObjectNode tn = o.putObject("timings");
        tn.put("prompt_tokens", t.promptTokens());
        tn.put("prompt_ms", t.promptMillis());
        tn.put("prompt_tokens_per_s", t.promptTokensPerSecond());
        tn.put("generated_tokens", t.generatedTokens());
        tn.put("generation_ms", t.generationMillis());
        tn.put("generation_tokens_per_s", t.generationTokensPerSecond());
        return o.toString();
    }

    static String joinIds(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ids.length; i++) {
            sb.append(i == 0 ? "" : ",").append(ids[i]);
        }
        return sb.toString();
    }

    static boolean onOff(String option, String v) {
        return switch (v.toLowerCase(java.util.Locale.ROOT)) {
            case "on", "true", "yes" -> true;
            case "off", "false", "no" -> false;
            default -> throw new BadInputException(option + " must be on or off, got '" + v + "'");
        };
    }

    /** The model's tokenizer, or null when the GGUF has no vocabulary (then only --tokens works). */
    static Gemma4Tokenizer tokenizer(GgufFile gguf) {
        if (gguf.get(Gemma4Tokenizer.KEY_TOKENS) == null) {
            return null;
        }
        try {
            return Gemma4Tokenizer.fromGguf(gguf);
        } catch (RuntimeException e) {
            throw new BadInputException(gguf.path() + ": cannot build the tokenizer: " + e.getMessage());
        }
    }

    static Gemma4ChatTemplate chatTemplate(GgufFile gguf) {
        GgufValue v = gguf.get(Gemma4Gguf.KEY_CHAT_TEMPLATE);
        if (v == null || v.type() != GgufValueType.STRING) {
            return Gemma4ChatTemplate.official();
        }
        try {
            return Gemma4ChatTemplate.forTemplate(v.asString());
        } catch (IllegalArgumentException e) {
            throw new BadInputException(gguf.path() + ": " + e.getMessage());
        }
    }

    /** Token ids of the prompt given by exactly one of --tokens, --prompt, --prompt-file, --messages. */
    static int[] promptIds(PromptArgs in, boolean raw, boolean thinking, GgufFile gguf, Gemma4Tokenizer tok, Gemma4Config cfg)
        throws IOException {
        if (in.tokens != null) {
            return parseIds(in.tokens, cfg.vocabSize());
        }
        if (tok == null) {
            throw new BadInputException(gguf.path() + " has no tokenizer (tokenizer.ggml.tokens): give the prompt as --tokens");
        }
        String text;
        if (in.messages != null) {
            ChatRequest req;
            try {
                req = ChatRequest.parse(Files.readString(in.messages, StandardCharsets.UTF_8));
            } catch (MalformedInputException e) {
                throw new BadInputException(in.messages + ": not UTF-8 text");
            } catch (IllegalArgumentException e) {
                throw new BadInputException(in.messages + ": " + e.getMessage());
            }
            text = render(chatTemplate(gguf), req, req.thinking(thinking));
        } else {
            String p = in.prompt;
            if (in.promptFile != null) {
                try {
                    p = Files.readString(in.promptFile, StandardCharsets.UTF_8);
                } catch (MalformedInputException e) {
                    throw new BadInputException(in.promptFile + ": not UTF-8 text");
                }
            }
            if (raw) {
                text = p;
            } else {
                ChatRequest req = new ChatRequest(List.of(ChatMessage.of(ChatMessage.Role.USER, p)), List.of(), thinking, "auto", true);
                text = render(chatTemplate(gguf), req, thinking);
            }
        }
        int[] ids = tok.encode(text, true, true);
        if (ids.length == 0) {
            throw new BadInputException("the prompt is empty");
        }
        return ids;
    }

    static String render(Gemma4ChatTemplate t, ChatRequest req, boolean thinking) {
        try {
            return t.render(req, thinking);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(e.getMessage());
        }
    }

    static int[] parseIds(String s, int vocab) {
        String[] parts = s.split(",");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i].trim();
            try {
                ids[i] = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new BadInputException("--tokens: '" + p + "' is not a token id");
            }
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new BadInputException("--tokens: id " + ids[i] + " is outside the vocabulary (0.." + (vocab - 1) + ")");
            }
        }
        return ids;
    }
}
