package dev.gemma4j.server;

import dev.gemma4j.chat.Gemma4ChatTemplate;
import dev.gemma4j.engine.Engine;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.gguf.GgufValue;
import dev.gemma4j.gguf.GgufValueType;
import dev.gemma4j.sampling.StopTokens;
import dev.gemma4j.tokenizer.Gemma4Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The loaded model as the server sees it: the engine (owned by the {@link Scheduler}'s thread once serving
 * starts), tokenizer, chat template, end-of-generation tokens and the names clients may use for it.
 */
public final class ModelHost implements AutoCloseable {
    private final GgufFile gguf;
    private final Engine engine;
    private final Gemma4Tokenizer tokenizer;
    private final Gemma4ChatTemplate template;
    private final StopTokens stops;
    private final String id;
    private final List<String> aliases;
    private final String backend;

    /** Takes ownership of {@code gguf} and {@code engine} (closed with this host). */
    public ModelHost(GgufFile gguf, Engine engine, List<String> aliases, String backend) {
        this.gguf = gguf;
        this.engine = engine;
        if (gguf.get(Gemma4Tokenizer.KEY_TOKENS) == null) {
            throw new IllegalArgumentException(gguf.path() + " has no tokenizer (tokenizer.ggml.tokens); the server needs one");
        }
        this.tokenizer = Gemma4Tokenizer.fromGguf(gguf);
        GgufValue t = gguf.get("tokenizer.chat_template");
        this.template = t == null || t.type() != GgufValueType.STRING
            ? Gemma4ChatTemplate.official() : Gemma4ChatTemplate.forTemplate(t.asString());
        this.stops = StopTokens.of(gguf);
        this.id = idOf(gguf.path());
        this.aliases = List.copyOf(aliases);
        this.backend = backend;
    }

    /** The model id: the file name, as llama-server reports it. */
    static String idOf(Path p) {
        return p.getFileName().toString();
    }

    public Engine engine() {
        return engine;
    }

    public Gemma4Tokenizer tokenizer() {
        return tokenizer;
    }

    public Gemma4ChatTemplate template() {
        return template;
    }

    public StopTokens stops() {
        return stops;
    }

    public String id() {
        return id;
    }

    public String backend() {
        return backend;
    }

    /** The id and every alias. */
    public List<String> names() {
        List<String> n = new ArrayList<>();
        n.add(id);
        n.addAll(aliases);
        return n;
    }

    public boolean answersTo(String name) {
        return name.equals(id) || aliases.contains(name);
    }

    public int trainedContext() {
        return engine.config().trainedContext();
    }

    @Override
    public void close() {
        engine.close();
        gguf.close();
    }
}
