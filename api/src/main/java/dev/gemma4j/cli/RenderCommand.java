package dev.gemma4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gemma4j.chat.ChatRequest;
import dev.gemma4j.chat.Gemma4ChatTemplate;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.gguf.GgufValue;
import dev.gemma4j.gguf.GgufValueType;
import dev.gemma4j.model.Gemma4Gguf;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Prints the prompt text a chat-completions request renders to with the model's chat template, exactly as
 * llama-server's {@code /apply-template} would (without the leading BOS, which the tokenizer adds).
 */
@Command(name = "render", mixinStandardHelpOptions = true,
    description = "Print the prompt a chat-completions request renders to with the model's chat template.")
final class RenderCommand implements Callable<Integer> {

    enum Thinking { on, off }

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "FILE", description = "GGUF model file (its tokenizer.chat_template is used).")
    Path model;

    @Option(names = "--messages", required = true, paramLabel = "FILE",
        description = "An OpenAI chat-completions request body: messages, optional tools, optional chat_template_kwargs.enable_thinking.")
    Path messages;

    @Option(names = "--thinking", paramLabel = "on|off",
        description = "Override enable_thinking (default: the request's chat_template_kwargs.enable_thinking, else on).")
    Thinking thinking;

    @Option(names = "--json", description = "Print {\"prompt\": TEXT} instead of the raw text.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        String template;
        try (GgufFile gguf = GgufFile.open(model)) {
            GgufValue v = gguf.get(Gemma4Gguf.KEY_CHAT_TEMPLATE);
            if (v == null || v.type() != GgufValueType.STRING) {
                throw new BadInputException(model + ": no tokenizer.chat_template string in this GGUF");
            }
            template = v.asString();
        }
        Gemma4ChatTemplate chat;
        try {
            chat = Gemma4ChatTemplate.forTemplate(template);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(model + ": " + e.getMessage());
        }
        ChatRequest request;
        try {
            request = ChatRequest.parse(Files.readString(messages, StandardCharsets.UTF_8));
        } catch (java.nio.charset.MalformedInputException e) {
            throw new BadInputException(messages + ": not UTF-8 text");
        } catch (IllegalArgumentException e) {
            throw new BadInputException(messages + ": " + e.getMessage());
        }
        boolean think = thinking != null ? thinking == Thinking.on : request.thinking(true);
        String prompt;
        try {
            prompt = chat.render(request, think);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(messages + ": " + e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().writeValueAsString(Map.of("prompt", prompt)));
        } else {
            out.print(prompt);
        }
        out.flush();
        return 0;
    }
}
