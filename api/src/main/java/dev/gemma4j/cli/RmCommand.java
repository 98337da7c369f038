package dev.gemma4j.cli;

import dev.gemma4j.hub.ModelCache;
import dev.gemma4j.hub.ModelName;
import dev.gemma4j.hub.Progress;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code gemma rm NAME}: removes a model from the cache. */
@Command(name = "rm", mixinStandardHelpOptions = true,
    description = "Remove a model from the cache: NAME as gemma list prints it ([hf:]OWNER/REPO[@REVISION][:TAG|:FILE]).")
final class RmCommand implements Callable<Integer> {
    @Parameters(paramLabel = "NAME", arity = "1..*", description = "The model(s) to remove.")
    java.util.List<String> names;

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        ModelCache cache = main.resolver().cache();
        PrintWriter out = spec.commandLine().getOut();
        // all names are checked before anything is deleted, so a typo in the second one removes nothing
        java.util.List<ModelCache.Cached> found = new java.util.ArrayList<>();
        for (String n : names) {
            found.add(cache.require(ModelName.parseOrThrow(n)));
        }
        for (ModelCache.Cached c : found) {
            cache.remove(c.repo(), c.entry());
            out.println("removed " + c.name() + " (" + Progress.bytes(c.entry().size()) + ", " + c.path() + ")");
        }
        out.flush();
        return 0;
    }
}
