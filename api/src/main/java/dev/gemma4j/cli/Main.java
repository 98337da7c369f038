package dev.gemma4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code gemma} command line. Exit codes: 0 success, 2 bad input (a clear one-line message on
 * stderr), 1 internal failure.
 */
@Command(name = "gemma", mixinStandardHelpOptions = true, version = "gemma4j 0.1.0",
    description = "Gemma 4 inference runtime for the JVM.",
    subcommands = {InspectCommand.class, SynthCommand.class, TokenizeCommand.class, RenderCommand.class,
        GenerateCommand.class, LogitsCommand.class, BenchCommand.class, ChatCommand.class, ServeCommand.class,
        CommandLine.HelpCommand.class})
public final class Main {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns the exit code (used by tests). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(new CliErrors());
        return cl.execute(args);
    }
}
