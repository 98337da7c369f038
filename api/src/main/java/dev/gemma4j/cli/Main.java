package dev.gemma4j.cli;

import dev.gemma4j.hub.HubSettings;
import dev.gemma4j.hub.ModelResolver;
import dev.gemma4j.hub.Progress;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code gemma} command line. Exit codes: 0 success, 2 bad input (a clear one-line message on
 * stderr), 1 internal failure.
 *
 * <p>The environment is read here and nowhere else: {@link #Main()} takes the process's
 * ({@code GEMMA_HOME}, {@code HF_ENDPOINT}, {@code HF_TOKEN}, whether the console is a terminal) and
 * subcommands get it as values through this object; tests build a {@code Main} with their own.
 */
@Command(name = "gemma", mixinStandardHelpOptions = true, version = "gemma4j 0.1.0",
    description = "Gemma 4 inference runtime for the JVM.",
    subcommands = {InspectCommand.class, SynthCommand.class, TokenizeCommand.class, RenderCommand.class,
        GenerateCommand.class, LogitsCommand.class, BenchCommand.class, ChatCommand.class, ServeCommand.class,
        PullCommand.class, ListCommand.class, RmCommand.class,
        CommandLine.HelpCommand.class})
public final class Main {
    /** How often a pull prints a progress line when the output is not a terminal. */
    static final Duration PLAIN_PROGRESS_EVERY = Duration.ofSeconds(5);

    private final HubSettings hub;
    private final PrintWriter terminal;
    private final Duration progressEvery;

    /** The process's settings: its environment and console. */
    public Main() {
        this(HubSettings.fromEnvironment(System.getenv(), Path.of(System.getProperty("user.home"))), terminal(), PLAIN_PROGRESS_EVERY);
    }

    /**
     * @param terminal      where a progress bar may be redrawn in place, or null (then progress is plain
     *                      lines on the command's stderr)
     * @param progressEvery the least time between plain progress lines
     */
    public Main(HubSettings hub, PrintWriter terminal, Duration progressEvery) {
        this.hub = hub;
        this.terminal = terminal;
        this.progressEvery = progressEvery;
    }

    /**
     * The console's writer when stdin and stdout are a terminal. The bar goes there rather than to
     * stderr: the ./gemma launcher passes stderr through a line filter, which would hold a bar redrawn
     * with carriage returns until its end; and with stdout redirected there is no console, so a bar
     * never lands in a file of results.
     */
    private static PrintWriter terminal() {
        java.io.Console c = System.console();
        return c != null && c.isTerminal() ? c.writer() : null;
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns the exit code (used by tests). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(new CliErrors());
        return cl.execute(args);
    }

    HubSettings hub() {
        return hub;
    }

    ModelResolver resolver() {
        return ModelResolver.of(hub);
    }

    /** Progress of a pull: a bar on the terminal, else plain lines on {@code err} (the command's stderr). */
    Progress progress(PrintWriter err) {
        return terminal != null ? new Progress(terminal, true, progressEvery, System::nanoTime)
            : new Progress(err, false, progressEvery, System::nanoTime);
    }
}
