package dev.gemma4j.cli;

import dev.gemma4j.chat.ChatMessage;
import dev.gemma4j.chat.ChatRequest;
import dev.gemma4j.chat.Gemma4ChatTemplate;
import dev.gemma4j.chat.Gemma4OutputParser;
import dev.gemma4j.engine.Engine;
import dev.gemma4j.engine.ContextOverflowException;
import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.Generator;
import dev.gemma4j.engine.Session;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.model.Gemma4Config;
import dev.gemma4j.sampling.Sampler;
import dev.gemma4j.sampling.SamplerConfig;
import dev.gemma4j.sampling.StopTokens;
import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import dev.gemma4j.tokenizer.StreamingDecoder;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gemma chat}: an interactive conversation in the terminal. Each reply streams as it is generated;
 * the conversation stays in the session's KV cache, so a new turn only evaluates its own tokens.
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
    description = {"Chat with the model in the terminal (reads lines from standard input; /reset forgets, /exit or end of input quits)."})
final class ChatCommand implements Callable<Integer> {

    @Mixin
    EngineArgs engine;

    @Mixin
    GenerateCommand.SamplingArgs sampling;

    @Option(names = "--think", paramLabel = "on|off", defaultValue = "off", description = "Let the model think before answering (default: ${DEFAULT-VALUE}).")
    String think;

    @Option(names = "--system", paramLabel = "TEXT", description = "A system prompt.")
    String system;

    @Option(names = {"-n", "--max-tokens"}, paramLabel = "N", defaultValue = "1024", description = "Most tokens per reply (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        boolean thinking = GenerateCommand.onOff("--think", think);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (GgufFile gguf = GgufFile.open(engine.modelPath())) {
            Gemma4Config cfg = Gemma4Config.read(gguf);
            Gemma4Tokenizer tok = GenerateCommand.tokenizer(gguf);
            if (tok == null) {
                throw new BadInputException(engine.modelPath() + " has no tokenizer (tokenizer.ggml.tokens); chat needs one");
            }
            Gemma4ChatTemplate template = GenerateCommand.chatTemplate(gguf);
            EngineOptions opts = engine.options(cfg, EngineOptions.DEFAULT_CONTEXT);
            SamplerConfig sc = sampling.config();
            StopTokens stops = StopTokens.of(gguf);
            List<ChatMessage> messages = new ArrayList<>();
            if (system != null) {
                messages.add(ChatMessage.of(ChatMessage.Role.SYSTEM, system));
            }
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            try (Engine e = engine.open(gguf, opts); Session session = e.newSession()) {
                int[] evaluated = new int[0];
                while (true) {
                    out.print("> ");
                    out.flush();
                    String line = in.readLine();
                    if (line == null || line.strip().equals("/exit")) {
                        break;
                    }
                    if (line.strip().equals("/reset")) {
                        messages.subList(system != null ? 1 : 0, messages.size()).clear();
                        session.reset();
                        evaluated = new int[0];
                        continue;
                    }
                    if (line.isBlank()) {
                        continue;
                    }
                    messages.add(ChatMessage.of(ChatMessage.Role.USER, line));
                    ChatRequest req = new ChatRequest(messages, List.of(), thinking, "auto", true);
                    int[] ids = tok.encode(GenerateCommand.render(template, req, thinking), true, true);
                    // keep what the session already holds when the new prompt extends it
                    int common = commonPrefix(evaluated, ids);
                    if (common < evaluated.length || common == ids.length) {
                        session.reset();
                        common = 0;
                    }
                    int[] fresh = Arrays.copyOfRange(ids, common, ids.length);
                    StreamingDecoder stream = tok.streamingDecoder(false);
                    Sampler sampler = new Sampler(sc.withSeed(sc.seed() + messages.size()), cfg.vocabSize());
                    Generator.Result r;
                    try {
                        r = Generator.generate(e, session, fresh, sampler, stops, maxTokens, t -> {
                            out.print(stream.accept(t));
                            out.flush();
                            return true;
                        });
                    } catch (ContextOverflowException ex) {
                        err.println("chat: the conversation no longer fits the context (" + opts.contextLength()
                            + " tokens); /reset to start over or raise --ctx-size");
                        messages.removeLast();
                        session.reset();
                        evaluated = new int[0];
                        continue;
                    }
                    out.println(stream.flush());
                    String text = tok.decode(r.ids(), false);
                    Gemma4OutputParser.Result parsed = Gemma4OutputParser.parse(text, Gemma4OutputParser.Options.plain(),
                        r.finishReason() == Generator.FinishReason.STOP ? Gemma4OutputParser.StopCause.END_OF_GENERATION
                            : Gemma4OutputParser.StopCause.MAX_TOKENS);
                    messages.add(new ChatMessage(ChatMessage.Role.ASSISTANT, parsed.content() == null ? "" : parsed.content(),
                        parsed.reasoningContent(), List.of(), null, null));
                    int[] held = Arrays.copyOf(ids, ids.length + r.ids().length);
                    System.arraycopy(r.ids(), 0, held, ids.length, r.ids().length);
                    evaluated = r.finishReason() == Generator.FinishReason.STOP ? held : new int[0];
                    if (evaluated.length == 0) {
                        session.reset();
                    }
                    Generator.Timings t = r.timings();
                    err.printf("[%d prompt tokens at %.1f tok/s, %d generated at %.1f tok/s]%n", t.promptTokens(),
                        t.promptTokensPerSecond(), t.generatedTokens(), t.generationTokensPerSecond());
                }
            }
        }
        return 0;
    }

    private static int commonPrefix(int[] a, int[] b) {
        int n = Math.min(a.length, b.length);
        int i = 0;
        while (i < n && a[i] == b[i]) {
            i++;
        }
        return i;
    }
}
