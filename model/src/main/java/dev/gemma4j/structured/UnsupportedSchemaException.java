package dev.gemma4j.structured;

/**
 * A JSON schema uses a feature the compiler does not enforce. Constrained decoding never falls back to
 * unconstrained output, so the caller must reject the request (the server answers HTTP 400).
 */
public final class UnsupportedSchemaException extends IllegalArgumentException {
    private final String keyword;
    private final String pointer;
    private final String detail;

    public UnsupportedSchemaException(String keyword, String pointer, String detail) {
        super("unsupported JSON schema keyword '" + keyword + "' at " + (pointer.isEmpty() ? "/" : pointer)
            + (detail == null || detail.isEmpty() ? "" : ": " + detail));
        this.keyword = keyword;
        this.pointer = pointer;
        this.detail = detail;
    }

    /** The same problem found in a schema embedded at {@code prefix} of a larger document (e.g. a request). */
    public UnsupportedSchemaException under(String prefix) {
        return new UnsupportedSchemaException(keyword, prefix + pointer, detail);
    }

    /** The offending keyword, e.g. {@code pattern}. */
    public String keyword() {
        return keyword;
    }

    /** JSON pointer of the schema object holding the keyword ({@code ""} for the root). */
    public String pointer() {
        return pointer;
    }
}
