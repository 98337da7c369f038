package dev.gemma4j.server;

/**
 * A request that ends in an OpenAI-shaped error: {@code {"error": {"message", "type", "param", "code"}}} with
 * an HTTP status. Thrown by the HTTP layer for bad input and handed to listeners by the scheduler.
 */
public final class ServerException extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;

    public ServerException(int status, String type, String code, String param, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400 invalid_request_error naming {@code param} (may be null). */
    public static ServerException badRequest(String param, String message) {
        return new ServerException(400, "invalid_request_error", null, param, message);
    }

    public static ServerException notFound(String code, String param, String message) {
        return new ServerException(404, "invalid_request_error", code, param, message);
    }

    public static ServerException internal(String message) {
        return new ServerException(500, "server_error", null, null, message);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }
}
