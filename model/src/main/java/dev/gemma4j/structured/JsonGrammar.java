package dev.gemma4j.structured;

/**
 * A compiled schema (immutable, shareable between requests and threads). Start matching with
 * {@link #matcher()}; build one per request from {@link JsonSchemaCompiler}.
 */
public final class JsonGrammar {
    final Grammar.Node root;
    /** whether outputs are Gemma tool calls, written with marker tokens such as {@code <|tool_call>} */
    final boolean usesMarkers;

    JsonGrammar(Grammar.Node root) {
        this(root, false);
    }

    JsonGrammar(Grammar.Node root, boolean usesMarkers) {
        this.root = root;
        this.usesMarkers = usesMarkers;
    }

    /** A fresh matcher at the start of the value. */
    public JsonMatcher matcher() {
        return new JsonMatcher(JsonAutomaton.start(root));
    }
}
