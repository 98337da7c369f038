package dev.gemma4j.chat;

/**
 * A chat-completions request this server cannot render: malformed or invalid for the Gemma 4 template.
 * The HTTP layer answers it with status 400 ({@code invalid_request_error}); the CLI exits with 2.
 */
public class ChatRequestException extends IllegalArgumentException {
    public ChatRequestException(String message) {
        super(message);
    }

    public ChatRequestException(String message, Throwable cause) {
        super(message, cause);
    }
}
