package dev.gemma4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpRequest;
import io.micronaut.http.client.HttpClient;
import io.micronaut.http.client.exceptions.HttpClientResponseException;
import io.micronaut.http.client.sse.SseClient;
import io.micronaut.http.sse.Event;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import reactor.core.publisher.Flux;

/** Micronaut's HTTP and SSE clients against a test server, answers as status + JSON. */
final class Http implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    record Reply(int status, JsonNode json, String text, Map<String, List<String>> headers) {
        String header(String name) {
            for (var e : headers.entrySet()) {
                if (e.getKey().equalsIgnoreCase(name)) {
                    return e.getValue().get(0);
                }
            }
            return null;
        }
    }

    private final HttpClient client;
    private final SseClient sse;
    private final String apiKey;

    Http(URI base) {
        this(base, null);
    }

    Http(URI base, String apiKey) {
        try {
            this.client = HttpClient.create(base.toURL());
            this.sse = SseClient.create(base.toURL());
        } catch (java.net.MalformedURLException e) {
            throw new IllegalArgumentException(e);
        }
        this.apiKey = apiKey;
    }

    private <T> MutableHttpRequest<T> auth(MutableHttpRequest<T> r) {
        return apiKey != null ? r.bearerAuth(apiKey) : r;
    }

    Reply get(String path) {
        return exchange(auth(HttpRequest.GET(path)));
    }

    Reply post(String path, String body) {
        return exchange(auth(HttpRequest.POST(path, body).contentType(MediaType.APPLICATION_JSON_TYPE)));
    }

    Reply post(String path, JsonNode body) {
        return post(path, body.toString());
    }

    private Reply exchange(MutableHttpRequest<?> r) {
        HttpResponse<String> res;
        try {
            res = client.toBlocking().exchange(r, String.class);
        } catch (HttpClientResponseException e) {
            @SuppressWarnings("unchecked")
            HttpResponse<String> er = (HttpResponse<String>) e.getResponse();
            res = er;
        }
        String text = res.getBody(String.class).orElse("");
        JsonNode json = null;
        try {
            json = text.isEmpty() ? null : JSON.readTree(text);
        } catch (Exception ignored) {
            // not JSON (the metrics text)
        }
        Map<String, List<String>> headers = new java.util.HashMap<>();
        res.getHeaders().forEach((k, v) -> headers.put(k, v));
        return new Reply(res.getStatus().getCode(), json, text, headers);
    }

    /** The data of every SSE event of a streamed request, in order ("[DONE]" included). */
    List<String> stream(String path, JsonNode body) {
        Flux<Event<String>> f = Flux.from(sse.eventStream(auth(HttpRequest.POST(path, body.toString())
            .contentType(MediaType.APPLICATION_JSON_TYPE)), String.class));
        List<String> out = new ArrayList<>();
        for (Event<String> e : f.toIterable()) {
            out.add(e.getData());
        }
        return out;
    }

    /** The first {@code n} events of a stream, then the connection is dropped. */
    List<String> streamThenDisconnect(String path, JsonNode body, int n) {
        Flux<Event<String>> f = Flux.from(sse.eventStream(auth(HttpRequest.POST(path, body.toString())
            .contentType(MediaType.APPLICATION_JSON_TYPE)), String.class));
        return f.take(n).map(Event::getData).collectList().block();
    }

    static JsonNode parse(String s) {
        try {
            return JSON.readTree(s);
        } catch (Exception e) {
            throw new UncheckedIOException(new java.io.IOException("not JSON: " + s, e));
        }
    }

    @Override
    public void close() {
        client.close();
        if (sse instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing a test client
            }
        }
    }
}
