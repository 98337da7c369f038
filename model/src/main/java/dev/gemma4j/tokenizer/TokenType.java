package dev.gemma4j.tokenizer;

/** Token types as stored in {@code tokenizer.ggml.token_type} (the ids are the stored values). */
public enum TokenType {
    UNDEFINED(0), NORMAL(1), UNKNOWN(2), CONTROL(3), USER_DEFINED(4), UNUSED(5), BYTE(6);

    private final int id;

    TokenType(int id) {
        this.id = id;
    }

    public int id() {
        return id;
    }

    /** The type stored as {@code id}, or {@code null} if no type has that id. */
    public static TokenType byId(long id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[(int) id] : null;
    }

    private static final TokenType[] BY_ID = values(); // declared in id order
}
