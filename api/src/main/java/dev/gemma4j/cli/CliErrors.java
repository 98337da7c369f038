package dev.gemma4j.cli;

import dev.gemma4j.gguf.GgufFormatException;
import dev.gemma4j.hub.HubException;
import dev.gemma4j.tensor.UnsupportedTensorTypeException;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;

/** Maps failures to the CLI conventions: one line on stderr; exit 2 for bad input, 1 otherwise. */
final class CliErrors implements CommandLine.IExecutionExceptionHandler {

    static final int BAD_INPUT = 2;
    static final int INTERNAL = 1;

    @Override
    public int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parsed) {
        String name = cl.getCommandName();
        if (ex instanceof HubException h && !h.badInput()) {
            // the network, the hub or the disk failed, not gemma: the message says which, no "internal error"
            cl.getErr().println(name + ": " + message(ex));
            return INTERNAL;
        }
        if (isBadInput(ex)) {
            cl.getErr().println(name + ": " + message(ex));
            return BAD_INPUT;
        }
        cl.getErr().println(name + ": internal error: " + message(ex));
        if (System.getenv("GEMMA_DEBUG") != null) {
            ex.printStackTrace(cl.getErr());
        }
        return INTERNAL;
    }

    static boolean isBadInput(Throwable ex) {
        if (ex instanceof HubException h) {
            return h.badInput();
        }
        return ex instanceof BadInputException || ex instanceof GgufFormatException
            || ex instanceof UnsupportedTensorTypeException || ex instanceof NoSuchFileException
            || ex instanceof java.nio.file.AccessDeniedException || ex instanceof IllegalArgumentException
            || (ex instanceof IOException && ex.getCause() == null && !(ex instanceof java.io.UncheckedIOException));
    }

    static String message(Throwable ex) {
        if (ex instanceof NoSuchFileException n) {
            return "no such file: " + n.getFile() + (n.getReason() != null ? " (" + n.getReason() + ")" : "");
        }
        String m = ex.getMessage();
        return (m == null ? ex.getClass().getSimpleName() : m).replace('\n', ' ');
    }
}
