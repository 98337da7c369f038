package dev.gemma4j.chat;

/** The chat template embedded in a model file is not a Gemma 4 template revision this renderer reproduces. */
public final class UnsupportedChatTemplateException extends IllegalArgumentException {
    public UnsupportedChatTemplateException(String message) {
        super(message);
    }
}
