package dev.gemma4j.cli;

import dev.gemma4j.hub.ModelName;
import dev.gemma4j.hub.ModelResolver;
import dev.gemma4j.hub.Progress;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code gemma pull NAME}: brings a model from the hub into the cache. */
@Command(name = "pull", mixinStandardHelpOptions = true,
    description = {"Download a model from the Hugging Face Hub into the cache (GEMMA_HOME, default ~/.cache/gemma4j).",
        "NAME is [hf:]OWNER/REPO[@REVISION][:TAG|:FILE]: a TAG (such as Q4_K_M or UD-Q4_K_XL) picks the .gguf file whose"
            + " name holds it as a whole part, a FILE names one exactly, no TAG picks Q4_K_M; split models come with"
            + " every shard. Downloads continue where an interrupted pull stopped and are checked against the hub's"
            + " SHA-256. HF_TOKEN is sent for gated repositories; HF_ENDPOINT sets the hub's address.",
        "Progress goes to stderr; the path of the model file (first shard) is printed on stdout."})
final class PullCommand implements Callable<Integer> {
    @Parameters(paramLabel = "NAME", description = "The model: [hf:]OWNER/REPO[@REVISION][:TAG|:FILE].")
    String name;

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        ModelName n = ModelName.parseOrThrow(name);
        PrintWriter err = spec.commandLine().getErr();
        Progress progress = main.progress(err);
        ModelResolver resolver = main.resolver();
        ModelResolver.Pulled p = resolver.pull(n, progress);
        Path first = p.path();
        progress.note((p.transferred() ? "pulled " : "up to date: ") + n.repo() + " @ " + p.commit().substring(0, Math.min(12, p.commit().length()))
            + ": " + p.model() + ", " + Progress.bytes(p.model().size()));
        PrintWriter out = spec.commandLine().getOut();
        out.println(first);
        out.flush();
        return 0;
    }
}
