package dev.gemma4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemma4j.hub.HubFile;
import dev.gemma4j.hub.ModelCache;
import dev.gemma4j.hub.Progress;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code gemma list}: the models in the cache. */
@Command(name = "list", aliases = "ls", mixinStandardHelpOptions = true,
    description = "The models in the cache (GEMMA_HOME): the name to give --model or rm, quantization, size, path.")
final class ListCommand implements Callable<Integer> {
    @Option(names = "--json", description = "Print [{\"name\", \"repo\", \"revision\", \"commit\", \"quant\", \"size\", \"path\", \"files\"}].")
    boolean json;

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        ModelCache cache = main.resolver().cache();
        List<ModelCache.Cached> models = cache.list();
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectMapper m = new ObjectMapper();
            ArrayNode a = m.createArrayNode();
            for (ModelCache.Cached c : models) {
                ObjectNode o = a.addObject();
                o.put("name", c.name());
                o.put("repo", c.repo());
                o.put("revision", c.entry().revision());
                o.put("commit", c.entry().commit());
                o.put("quant", c.quant());
                o.put("size", c.entry().size());
                o.put("path", c.path().toString());
                ArrayNode files = o.putArray("files");
                for (Path p : c.paths()) {
                    files.add(p.toString());
                }
                o.put("pulled_at", c.entry().pulledAt());
            }
            out.println(m.writerWithDefaultPrettyPrinter().writeValueAsString(a));
        } else if (models.isEmpty()) {
            out.println("no models in " + cache.home() + " (gemma pull OWNER/REPO:TAG brings one)");
        } else {
            int w = Math.max(4, models.stream().mapToInt(c -> c.name().length()).max().orElse(0));
            int q = Math.max(5, models.stream().mapToInt(c -> c.quant() == null ? 1 : c.quant().length()).max().orElse(0));
            String fmt = "%-" + w + "s  %-" + q + "s  %10s  %s%n";
            out.printf(fmt, "NAME", "QUANT", "SIZE", "PATH");
            for (ModelCache.Cached c : models) {
                String shards = c.paths().size() > 1 ? " (+" + (c.paths().size() - 1) + " shards)" : "";
                out.printf(fmt, c.name(), c.quant() == null ? "-" : c.quant(),
                    Progress.bytes(c.entry().files().stream().mapToLong(HubFile::size).sum()), c.path() + shards);
            }
        }
        out.flush();
        return 0;
    }
}
