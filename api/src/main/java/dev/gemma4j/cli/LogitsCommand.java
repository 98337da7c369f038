package dev.gemma4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemma4j.engine.Engine;
import dev.gemma4j.engine.ContextOverflowException;
import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.Session;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.model.Gemma4Config;
import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gemma logits}: the next-token logits after a prompt, the debugging view users and tests share. */
@Command(name = "logits", mixinStandardHelpOptions = true,
    description = {"Print the highest next-token logits (soft-capped, as llama.cpp reports them) after a prompt.",
        "--prompt/--prompt-file text is plain completion text after BOS (special-token texts parsed);"
            + " --messages renders a chat request; --tokens takes ids as they are."})
final class LogitsCommand implements Callable<Integer> {

    @Mixin
    EngineArgs engine;

    @ArgGroup(exclusive = true, multiplicity = "1")
    GenerateCommand.PromptArgs input;

    @Option(names = "--think", paramLabel = "on|off", defaultValue = "off", description = "Thinking mode for --messages (default: ${DEFAULT-VALUE}).")
    String think;

    @Option(names = "--top", paramLabel = "K", defaultValue = "10", description = "How many of the highest logits to print (default: ${DEFAULT-VALUE}).")
    int top;

    @Option(names = "--json", description = "Print {\"position\": N, \"top\": [{\"id\", \"logit\"}, ...]}.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (top < 1) {
            throw new BadInputException("--top must be at least 1");
        }
        try (GgufFile gguf = GgufFile.open(engine.modelPath())) {
            Gemma4Config cfg = Gemma4Config.read(gguf);
            Gemma4Tokenizer tok = GenerateCommand.tokenizer(gguf);
            int[] ids = GenerateCommand.promptIds(input, true, GenerateCommand.onOff("--think", think), gguf, tok, cfg);
            EngineOptions opts = engine.options(cfg, ids.length);
            float[] logits;
            try (Engine e = engine.open(gguf, opts); Session s = e.newSession()) {
                logits = e.prefill(s, ids);
            } catch (ContextOverflowException ex) {
                throw new BadInputException("the prompt (" + ids.length + " tokens) does not fit the context length "
                    + opts.contextLength() + "; raise --ctx-size");
            }
            int k = Math.min(top, logits.length);
            Integer[] order = new Integer[logits.length];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            java.util.Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
            PrintWriter out = spec.commandLine().getOut();
            int position = ids.length - 1;
            if (json) {
                ObjectNode o = new ObjectMapper().createObjectNode();
                o.put("position", position);
                ArrayNode arr = o.putArray("top");
                for (int i = 0; i < k; i++) {
                    ObjectNode e = arr.addObject();
                    e.put("id", order[i]);
                    e.put("logit", logits[order[i]]);
                }
                out.println(o);
            } else {
                out.printf("position %d (%d prompt tokens)%n", position, ids.length);
                for (int i = 0; i < k; i++) {
                    int id = order[i];
                    String piece = tok != null ? tok.tokenText(id) : "";
                    out.printf("%8d %12.6f  %s%n", id, logits[id], piece.replace("\n", "\\n"));
                }
            }
            out.flush();
        }
        return 0;
    }
}
