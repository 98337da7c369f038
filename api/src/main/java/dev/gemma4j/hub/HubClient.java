package dev.gemma4j.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The few Hugging Face Hub endpoints a pull needs: a repository's files at a revision
 * ({@code GET /api/models/REPO/revision/REV?blobs=true}, which answers the commit sha and, per file, the
 * size and LFS sha256 in one request) and a file's bytes ({@code GET /REPO/resolve/COMMIT/PATH}, which
 * the hub redirects to its CDN).
 */
public final class HubClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_REDIRECTS = 10;
    // until the response headers arrive; a body that stops arriving is the downloader's watchdog's business
    private static final Duration HEADERS_TIMEOUT = Duration.ofSeconds(60);

    private final URI endpoint;
    private final String token;
    private final HttpClient http;

    /** A repository at a revision: the commit the revision resolved to and the files there. */
    public record RepoInfo(String repo, String revision, String commit, List<HubFile> files) {
    }

    /** @param token the bearer token ({@code HF_TOKEN}), or null */
    public HubClient(URI endpoint, String token) {
        this.endpoint = Objects.requireNonNull(endpoint);
        this.token = token == null || token.isBlank() ? null : token.strip();
        // Redirects are followed by hand (see download): the hub's CDN must not receive the token.
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(30)).build();
    }

    public URI endpoint() {
        return endpoint;
    }

    /** The files of {@code repo} at {@code revision}, with the commit sha the revision names now. */
    public RepoInfo info(String repo, String revision) throws IOException {
        URI uri = URI.create(base() + "/api/models/" + repo + "/revision/" + encode(revision) + "?blobs=true");
        HttpResponse<byte[]> r = send(request(uri).GET().build(), HttpResponse.BodyHandlers.ofByteArray(), repo);
        if (r.statusCode() != 200) {
            throw error(r.statusCode(), r.headers().firstValue("X-Error-Code"), repo, revision, null, uri);
        }
        JsonNode root;
        try {
            root = JSON.readTree(r.body());
        } catch (IOException e) {
            throw HubException.failure("the hub at " + endpoint + " answered " + uri + " with something that is not JSON");
        }
        String commit = root.path("sha").asText(null);
        // the commit names a folder of the cache: only a plain id will do
        if (commit == null || !commit.matches("[0-9A-Za-z]{7,64}")) {
            throw HubException.failure("the hub's answer for " + repo + "@" + revision + " has no usable commit sha ('" + commit + "')");
        }
        List<HubFile> files = new ArrayList<>();
        for (JsonNode s : root.path("siblings")) {
            String path = s.path("rfilename").asText(null);
            if (!HubFile.safePath(path)) {
                continue; // nothing a pull could write inside the cache
            }
            JsonNode lfs = s.path("lfs");
            long size = lfs.has("size") ? lfs.get("size").asLong() : s.path("size").asLong(-1);
            if (size < 0) {
                throw HubException.failure("the hub's answer for " + repo + " gives no size for " + path);
            }
            String sha256 = lfs.has("sha256") ? lfs.get("sha256").asText() : null;
            String blob = s.has("blobId") ? s.get("blobId").asText() : null;
            files.add(new HubFile(path, size, sha256, blob));
        }
        return new RepoInfo(repo, revision, commit, files);
    }

    /**
     * Opens {@code path} of {@code repo} at {@code commit}, from byte {@code from} on ({@code Range}); the
     * answer is 200 (whole file) or 206 (from {@code from}). Redirects are followed; the token goes only
     * to the hub's own host.
     */
    public HttpResponse<InputStream> download(String repo, String commit, String path, long from) throws IOException {
        StringBuilder p = new StringBuilder();
        for (String seg : path.split("/")) {
            p.append('/').append(encode(seg));
        }
        URI uri = URI.create(base() + "/" + repo + "/resolve/" + encode(commit) + p);
        URI hub = uri;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder b = sameOrigin(uri, hub) ? request(uri) : HttpRequest.newBuilder(uri).header("User-Agent", userAgent()).timeout(HEADERS_TIMEOUT);
            if (from > 0) {
                b.header("Range", "bytes=" + from + "-");
            }
            HttpResponse<InputStream> r = send(b.GET().build(), HttpResponse.BodyHandlers.ofInputStream(), repo);
            int s = r.statusCode();
            if (s == 301 || s == 302 || s == 303 || s == 307 || s == 308) {
                Optional<String> loc = r.headers().firstValue("Location");
                r.body().close();
                if (loc.isEmpty()) {
                    throw HubException.failure("the hub redirected " + uri + " without a Location");
                }
                uri = uri.resolve(loc.get());
                continue;
            }
            if (s == 200 || s == 206 || s == 416) {
                return r;
            }
            r.body().close();
            throw error(s, r.headers().firstValue("X-Error-Code"), repo, commit, path, uri);
        }
        throw HubException.failure("more than " + MAX_REDIRECTS + " redirects for " + path + " of " + repo);
    }

    private String base() {
        String s = endpoint.toString();
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    private static boolean sameOrigin(URI a, URI b) {
        return Objects.equals(a.getScheme(), b.getScheme()) && Objects.equals(a.getHost(), b.getHost()) && a.getPort() == b.getPort();
    }

    private HttpRequest.Builder request(URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).header("User-Agent", userAgent()).timeout(HEADERS_TIMEOUT);
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    private static String userAgent() {
        return "gemma4j/0.1.0 (java " + Runtime.version().feature() + ")";
    }

    private <T> HttpResponse<T> send(HttpRequest req, HttpResponse.BodyHandler<T> h, String repo) throws IOException {
        try {
            return http.send(req, h);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while talking to the hub");
        } catch (IOException e) {
            throw HubException.failure("cannot reach the hub at " + endpoint + " (" + describe(e) + ")"
                + (endpoint.getHost() != null && endpoint.getHost().endsWith("huggingface.co") ? "" : "; HF_ENDPOINT sets it"), e);
        }
    }

    static String describe(Throwable e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m != null ? ": " + m : "");
    }

    /** One line for a refusal of the hub, saying what to do where something can be done. */
    private HubException error(int status, Optional<String> code, String repo, String revision, String path, URI uri) {
        String c = code.orElse("");
        String page = base() + "/" + repo;
        if (c.equals("GatedRepo") || ((status == 401 || status == 403) && path != null && !c.equals("RepoNotFound"))) {
            return HubException.badInput(token == null
                ? repo + " is gated: accept its licence at " + page + " and set HF_TOKEN to an access token of that account"
                : "HF_TOKEN has no access to " + repo + " (HTTP " + status + "): accept its licence at " + page
                    + " with the token's account, or use a token that has read access");
        }
        if (c.equals("RevisionNotFound")) {
            return HubException.badInput("no revision '" + revision + "' in " + repo);
        }
        if (c.equals("EntryNotFound") || (status == 404 && path != null)) {
            return HubException.badInput("no file '" + path + "' in " + repo + " at " + revision);
        }
        if (c.equals("RepoNotFound") || status == 404 || status == 401) {
            // The hub answers 401 for a repository it will not show an anonymous caller: absent, or private.
            return HubException.badInput("no repository " + repo + " on " + endpoint
                + (token == null ? " (if it is private or gated, set HF_TOKEN)" : " that HF_TOKEN can see"));
        }
        if (status == 403) {
            return HubException.badInput("the hub refused " + repo + " (HTTP 403): check HF_TOKEN and that you accepted the licence at " + page);
        }
        if (status == 429) {
            return HubException.failure("the hub is rate-limiting requests (HTTP 429); try again later"
                + (token == null ? " or set HF_TOKEN" : ""));
        }
        return HubException.failure("the hub answered HTTP " + status + " for " + uri);
    }

    static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
