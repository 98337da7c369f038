package dev.gemma4j.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder: replaced by the synthetic-model work. */
@Command(name = "synth", mixinStandardHelpOptions = true, description = "Write a random-weight Gemma 4 GGUF model.")
final class SynthCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
