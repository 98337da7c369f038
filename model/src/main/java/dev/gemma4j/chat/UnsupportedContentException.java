package dev.gemma4j.chat;

/** A content part this text-only server does not accept (image, audio, video): HTTP 400. */
public final class UnsupportedContentException extends ChatRequestException {
    public UnsupportedContentException(String message) {
        super(message);
    }
}
