package dev.gemma4j.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import dev.gemma4j.tokenizer.TokenizerException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gemma tokenize}: the token ids and pieces of a text, as the model sees them. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
    description = "Print the token ids and pieces of a text, tokenized with the model's tokenizer. BOS is prepended"
        + " (as for every Gemma 4 prompt); special-token texts such as <turn|> become those tokens unless"
        + " --no-special is given.")
final class TokenizeCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--model", required = true, paramLabel = "FILE", description = "GGUF model (or vocabulary) file.")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--text", paramLabel = "TEXT", description = "The text to tokenize.")
        String text;

        @Option(names = "--file", paramLabel = "F", description = "Tokenize the contents of this file (UTF-8).")
        Path file;

        @Option(names = "--jsonl", description = "Read one JSON string per line from stdin and write one"
            + " {\"ids\": [...], \"pieces\": [...]} object per line (for datasets).")
        boolean jsonl;
    }

    @Option(names = "--no-special", description = "Treat special-token texts as plain text.")
    boolean noSpecial;

    @Option(names = "--no-bos", description = "Do not prepend BOS.")
    boolean noBos;

    @Option(names = "--json", description = "Print {\"ids\": [...], \"pieces\": [...]}.")
    boolean json;

    @Spec
    CommandSpec spec;

    private final InputStream stdin;

    TokenizeCommand() {
        this(System.in);
    }

    TokenizeCommand(InputStream stdin) {
        this.stdin = stdin;
    }

    @Override
    public Integer call() throws IOException {
        Gemma4Tokenizer tokenizer = load(model);
        PrintWriter out = spec.commandLine().getOut();
        boolean parseSpecial = !noSpecial;
        if (input.jsonl) {
            BufferedReader r = new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8));
            String line;
            int lineNo = 0;
            while ((line = r.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode node;
                try {
                    node = JSON.readTree(line);
                } catch (JsonProcessingException e) {
                    throw new BadInputException("stdin line " + lineNo + ": not JSON: " + e.getOriginalMessage());
                }
                if (node == null || !node.isTextual()) {
                    throw new BadInputException("stdin line " + lineNo + ": expected a JSON string");
                }
                out.println(JSON.writeValueAsString(toJson(tokenizer, tokenizer.encode(node.asText(), !noBos, parseSpecial))));
            }
            out.flush();
            return 0;
        }
        int[] ids = input.file != null
            ? tokenizer.encode(Files.readAllBytes(input.file), !noBos, parseSpecial)
            : tokenizer.encode(input.text, !noBos, parseSpecial);
        if (json) {
            out.println(JSON.writeValueAsString(toJson(tokenizer, ids)));
        } else {
            for (int id : ids) {
                out.printf("%7d -> '%s'%n", id, displayPiece(tokenizer, id));
            }
        }
        out.flush();
        return 0;
    }

    static Gemma4Tokenizer load(Path model) throws IOException {
        try (GgufFile f = GgufFile.open(model)) {
            return Gemma4Tokenizer.fromGguf(f);
        } catch (TokenizerException e) {
            throw new BadInputException(model + ": " + e.getMessage());
        }
    }

    private static ObjectNode toJson(Gemma4Tokenizer tokenizer, int[] ids) {
        ObjectNode o = JSON.createObjectNode();
        ArrayNode idArray = o.putArray("ids");
        ArrayNode pieces = o.putArray("pieces");
        for (int id : ids) {
            idArray.add(id);
            pieces.add(displayPiece(tokenizer, id));
        }
        return o;
    }

    /**
     * The token's text as the model would print it (special tokens included, {@code ▁} as space); a byte token
     * that is only part of a character is shown by its vocabulary text, e.g. {@code <0xE4>}.
     */
    static String displayPiece(Gemma4Tokenizer tokenizer, int id) {
        byte[] b = tokenizer.pieceBytes(id, true);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            return tokenizer.tokenText(id);
        }
    }
}
