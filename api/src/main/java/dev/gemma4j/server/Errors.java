package dev.gemma4j.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;

/** OpenAI's error shape, {@code {"error": {"message", "type", "param", "code"}}}, as a body and a response. */
final class Errors {
    private Errors() {
    }

    static ObjectNode body(ObjectMapper json, ServerException e) {
        ObjectNode o = json.createObjectNode();
        ObjectNode err = o.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e.type());
        if (e.param() != null) {
            err.put("param", e.param());
        } else {
            err.putNull("param");
        }
        if (e.code() != null) {
            err.put("code", e.code());
        } else {
            err.putNull("code");
        }
        return o;
    }

    static MutableHttpResponse<String> response(ObjectMapper json, ServerException e) {
        MutableHttpResponse<String> r = HttpResponse.<String>status(HttpStatus.valueOf(e.status()))
            .contentType(MediaType.APPLICATION_JSON_TYPE).body(body(json, e).toString());
        if (e.status() == 429) {
            r.header("Retry-After", "1");
        }
        if (e.status() == 401) {
            r.header("WWW-Authenticate", "Bearer");
        }
        return r;
    }

    /** The OpenAI error type for a status Micronaut produced itself (404 route, 405, 413, 415...). */
    static ServerException forStatus(int status, String message) {
        String type = status >= 500 ? "server_error" : "invalid_request_error";
        String code = switch (status) {
            case 404 -> "not_found";
            case 405 -> "method_not_allowed";
            case 413 -> "request_too_large";
            case 415 -> "unsupported_media_type";
            default -> null;
        };
        return new ServerException(status, type, code, null, message);
    }
}
