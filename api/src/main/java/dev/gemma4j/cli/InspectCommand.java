package dev.gemma4j.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder: replaced by the GGUF work. */
@Command(name = "inspect", mixinStandardHelpOptions = true, description = "Print a GGUF file's metadata and tensor table.")
final class InspectCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
