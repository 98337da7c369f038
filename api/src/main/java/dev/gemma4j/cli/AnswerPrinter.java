package dev.gemma4j.cli;

import dev.gemma4j.chat.Gemma4OutputParser;
import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import dev.gemma4j.tokenizer.StreamingDecoder;
import java.io.PrintWriter;

/**
 * Prints a chat answer as it is generated, through the same output parser as the server: the answer
 * ({@code content}) goes to stdout, the model's reasoning to stderr behind a "[thinking]" mark, so the two
 * are shown apart and stdout stays the answer alone. Tokens are decoded with their marker texts
 * ({@code <|channel>} ...), which the parser needs to place the reasoning.
 */
final class AnswerPrinter {
    private final StreamingDecoder decoder;
    private final Gemma4OutputParser parser = new Gemma4OutputParser(Gemma4OutputParser.Options.plain());
    private final PrintWriter out;
    private final PrintWriter err;
    private boolean inReasoning;

    AnswerPrinter(Gemma4Tokenizer tokenizer, PrintWriter out, PrintWriter err) {
        this.decoder = tokenizer.streamingDecoder(true);
        this.out = out;
        this.err = err;
    }

    void accept(int token) {
        print(parser.feed(decoder.accept(token)));
    }

    /** Prints what is left and returns the parsed answer. */
    Gemma4OutputParser.Result finish(boolean atTokenLimit) {
        print(parser.feed(decoder.flush()));
        print(parser.finish(atTokenLimit ? Gemma4OutputParser.StopCause.MAX_TOKENS : Gemma4OutputParser.StopCause.END_OF_GENERATION));
        if (inReasoning) {
            err.println();
            err.flush();
        }
        out.println();
        out.flush();
        return parser.result();
    }

    private void print(Gemma4OutputParser.Delta d) {
        if (d.reasoningContent() != null) {
            if (!inReasoning) {
                err.print("[thinking] ");
                inReasoning = true;
            }
            err.print(d.reasoningContent());
            err.flush();
        }
        if (d.content() != null) {
            if (inReasoning) {
                err.println();
                err.flush();
                inReasoning = false;
            }
            out.print(d.content());
            out.flush();
        }
    }
}
