package dev.gemma4j.server;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ResponseFilter;
import io.micronaut.http.annotation.ServerFilter;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Set;

/**
 * The optional API key ({@code Authorization: Bearer KEY}, compared in constant time) on every {@code /v1/*},
 * {@code /tokenize}, {@code /detokenize} and {@code /metrics} path; {@code /health} and the chat page (its files and
 * {@code /webjars/**}) stay open, the page asks the person for the key. Also counts
 * responses by path and status for {@code /metrics}.
 */
@ServerFilter("/**")
final class ApiFilter {
    private static final Set<String> KNOWN = Set.of("/v1/chat/completions", "/chat/completions", "/v1/completions",
        "/completions", "/v1/models", "/models", "/tokenize", "/detokenize", "/health", "/metrics");

    private final ServerState state;

    ApiFilter(ServerState state) {
        this.state = state;
    }

    @RequestFilter
    @Nullable
    HttpResponse<?> authenticate(HttpRequest<?> request) {
        String key = state.options().apiKey();
        if (key == null || request.getMethodName().equals("OPTIONS")) {
            return null;
        }
        String path = request.getPath();
        boolean guarded = path.startsWith("/v1/") || path.equals("/tokenize") || path.equals("/detokenize")
            || path.equals("/metrics") || path.equals("/models") || path.equals("/completions") || path.equals("/chat/completions");
        if (!guarded) {
            return null;
        }
        String auth = request.getHeaders().get("Authorization");
        String given = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) ? auth.substring(7).trim() : "";
        if (MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), key.getBytes(StandardCharsets.UTF_8))) {
            return null;
        }
        MutableHttpResponse<String> r = Errors.response(OpenAiController.JSON, new ServerException(401,
            "invalid_request_error", "invalid_api_key", null,
            auth == null ? "missing API key: send 'Authorization: Bearer KEY'" : "invalid API key"));
        state.metrics().request(tag(path), 401);
        return r;
    }

    @ResponseFilter
    void count(HttpRequest<?> request, MutableHttpResponse<?> response) {
        state.metrics().request(tag(request.getPath()), response.code());
    }

    private static String tag(String path) {
        return KNOWN.contains(path) ? path : "other";
    }
}
