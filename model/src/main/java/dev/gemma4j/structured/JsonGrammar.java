package dev.gemma4j.structured;

/**
 * A compiled schema (immutable, shareable between requests and threads). Start matching with
 * {@link #matcher()}; build one per request from {@link JsonSchemaCompiler}.
 */
public final class JsonGrammar {
    final Grammar.Node root;

    JsonGrammar(Grammar.Node root) {
        this.root = root;
    }

    /** A fresh matcher at the start of the value. */
    public JsonMatcher matcher() {
        return new JsonMatcher(JsonAutomaton.start(root));
    }
}
