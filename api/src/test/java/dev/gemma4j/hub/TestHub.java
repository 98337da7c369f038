package dev.gemma4j.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A stand-in for the Hugging Face Hub on 127.0.0.1, speaking the endpoints a pull uses the way the hub
 * does: {@code /api/models/REPO/revision/REV?blobs=true} (commit sha, siblings with size and LFS sha256),
 * {@code /REPO/resolve/REV/PATH} answered with a 302 to a CDN on another host name ({@code localhost}, so
 * a token leaking past the redirect is seen and refused), and the CDN honouring {@code Range}. Error
 * answers carry {@code X-Error-Code} as the hub's do. Faults can be set per file: a response cut midway,
 * a flipped byte, a slow transfer.
 */
public final class TestHub implements AutoCloseable {
    public static final String TOKEN = "hf_test_token";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern API = Pattern.compile("/api/models/([^/]+/[^/]+)/revision/([^?]+)");
    private static final Pattern RESOLVE = Pattern.compile("/([^/]+/[^/]+)/resolve/([^/]+)/(.+)");
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");

    private final HttpServer server;
    private final Map<String, Repo> repos = new ConcurrentHashMap<>();
    private final Map<String, byte[]> blobs = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> cuts = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> stalls = new ConcurrentHashMap<>();
    private final Map<String, Boolean> corrupt = new ConcurrentHashMap<>();
    private volatile long slowNanosPerChunk;

    /** Every request the hub and CDN saw. */
    public final List<Seen> seen = new CopyOnWriteArrayList<>();

    public record Seen(String path, String range, boolean authorized, int status, long bytesSent) {
    }

    private record Repo(String commit, Map<String, byte[]> files, boolean gated) {
    }

    public TestHub() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "test-hub");
            t.setDaemon(true);
            return t;
        }));
        server.start();
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** Adds (or replaces) a repository at {@code commit} with {@code files} (path to bytes). */
    public TestHub repo(String repo, String commit, Map<String, byte[]> files, boolean gated) {
        repos.put(repo, new Repo(commit, Map.copyOf(files), gated));
        for (byte[] b : files.values()) {
            blobs.put(sha256(b), b);
        }
        return this;
    }

    /** The next {@code times} downloads of the file with this content stop after half the bytes. */
    public void cutNext(byte[] content, int times) {
        cuts.put(sha256(content), new AtomicInteger(times));
    }

    /** The next {@code times} downloads of the file with this content stop sending after half the bytes but stay open. */
    public void stallNext(byte[] content, int times) {
        stalls.put(sha256(content), new AtomicInteger(times));
    }

    /** Downloads of the file with this content have one byte flipped. */
    public void corrupt(byte[] content) {
        corrupt.put(sha256(content), true);
    }

    /** Each 64 KiB of a download waits this long (so concurrent pulls overlap). */
    public void slow(long millisPerChunk) {
        slowNanosPerChunk = millisPerChunk * 1_000_000L;
    }

    /** Bytes the CDN sent of files, over all requests. */
    public long bytesServed() {
        return seen.stream().filter(s -> s.path().startsWith("/cdn/")).mapToLong(Seen::bytesSent).sum();
    }

    public static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getRawPath();
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        String range = ex.getRequestHeaders().getFirst("Range");
        boolean authorized = ("Bearer " + TOKEN).equals(auth);
        boolean cut = false;
        try {
            if (path.startsWith("/cdn/")) {
                cut = !cdn(ex, path.substring(5), auth, range);
                if (cut) {
                    // an exception out of the handler makes the server drop the connection with bytes still owed
                    throw new IllegalStateException("connection cut by the test");
                }
                return;
            }
            Matcher m = API.matcher(path);
            if (m.matches()) {
                api(ex, m.group(1), URLDecoder.decode(m.group(2), StandardCharsets.UTF_8), authorized, auth != null);
                return;
            }
            m = RESOLVE.matcher(path);
            if (m.matches()) {
                resolve(ex, m.group(1), URLDecoder.decode(m.group(2), StandardCharsets.UTF_8),
                    URLDecoder.decode(m.group(3), StandardCharsets.UTF_8), authorized, auth != null);
                return;
            }
            answer(ex, 404, null, "not found", range, auth != null);
        } finally {
            if (!cut) {
                ex.close();
            }
        }
    }

    private void api(HttpExchange ex, String repoName, String rev, boolean authorized, boolean hasAuth) throws IOException {
        Repo repo = repos.get(repoName);
        if (repo == null) {
            // the hub does not say whether a repository exists to an anonymous caller: 401, not 404
            answer(ex, hasAuth ? 404 : 401, "RepoNotFound", "Repository not found", null, hasAuth);
            return;
        }
        if (!rev.equals("main") && !rev.equals(repo.commit())) {
            answer(ex, 404, "RevisionNotFound", "Invalid rev id: " + rev, null, hasAuth);
            return;
        }
        ObjectNode root = JSON.createObjectNode();
        root.put("id", repoName);
        root.put("sha", repo.commit());
        root.put("gated", repo.gated() ? "manual" : "false");
        ArrayNode siblings = root.putArray("siblings");
        repo.files().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            ObjectNode s = siblings.addObject();
            s.put("rfilename", e.getKey());
            s.put("size", e.getValue().length);
            s.put("blobId", "0123456789abcdef0123456789abcdef01234567");
            ObjectNode lfs = s.putObject("lfs");
            lfs.put("sha256", sha256(e.getValue()));
            lfs.put("size", e.getValue().length);
            lfs.put("pointerSize", 135);
        });
        byte[] body = JSON.writeValueAsBytes(root);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(200, body.length);
        ex.getResponseBody().write(body);
        seen.add(new Seen(ex.getRequestURI().getRawPath(), null, hasAuth, 200, 0));
    }

    private void resolve(HttpExchange ex, String repoName, String rev, String file, boolean authorized, boolean hasAuth) throws IOException {
        Repo repo = repos.get(repoName);
        if (repo == null) {
            answer(ex, hasAuth ? 404 : 401, "RepoNotFound", "Repository not found", null, hasAuth);
            return;
        }
        if (repo.gated() && !authorized) {
            answer(ex, hasAuth ? 403 : 401, "GatedRepo", "Access to model " + repoName + " is restricted", null, hasAuth);
            return;
        }
        byte[] b = repo.files().get(file);
        if (b == null || !(rev.equals("main") || rev.equals(repo.commit()))) {
            answer(ex, 404, "EntryNotFound", "Entry not found", null, hasAuth);
            return;
        }
        // the CDN is another host name, as the hub's is
        ex.getResponseHeaders().add("Location", "http://localhost:" + server.getAddress().getPort() + "/cdn/" + sha256(b));
        ex.sendResponseHeaders(302, -1);
        seen.add(new Seen(ex.getRequestURI().getRawPath(), null, hasAuth, 302, 0));
    }

    /** Serves a blob; false when the response was cut short on purpose. */
    private boolean cdn(HttpExchange ex, String sha, String auth, String range) throws IOException {
        byte[] b = blobs.get(sha);
        if (auth != null) {
            // a presigned CDN URL refuses a second credential; the hub token must not be forwarded
            answer(ex, 400, null, "Only one auth mechanism allowed", range, true);
            return true;
        }
        if (b == null) {
            answer(ex, 404, null, "no such blob", range, false);
            return true;
        }
        long from = 0;
        if (range != null) {
            Matcher m = RANGE.matcher(range);
            if (m.matches()) {
                from = Long.parseLong(m.group(1));
            }
        }
        if (from >= b.length && b.length > 0) {
            ex.getResponseHeaders().add("Content-Range", "bytes */" + b.length);
            answer(ex, 416, null, "range not satisfiable", range, false);
            return true;
        }
        int status = from > 0 ? 206 : 200;
        if (status == 206) {
            ex.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (b.length - 1) + "/" + b.length);
        }
        ex.getResponseHeaders().add("Accept-Ranges", "bytes");
        long len = b.length - from;
        ex.sendResponseHeaders(status, len);
        AtomicInteger cut = cuts.get(sha);
        boolean cutThis = cut != null && cut.getAndDecrement() > 0;
        AtomicInteger stall = stalls.get(sha);
        boolean stallThis = stall != null && stall.getAndDecrement() > 0;
        long stop = cutThis || stallThis ? from + len / 2 : b.length;
        long sent = 0;
        OutputStream out = ex.getResponseBody();
        try {
            for (long at = from; at < stop; ) {
                int n = (int) Math.min(65536, stop - at);
                byte[] chunk = java.util.Arrays.copyOfRange(b, (int) at, (int) at + n);
                if (corrupt.containsKey(sha) && at <= b.length / 3 && b.length / 3 < at + n) {
                    chunk[(int) (b.length / 3 - at)] ^= 0x5a;
                }
                out.write(chunk);
                out.flush();
                at += n;
                sent += n;
                if (slowNanosPerChunk > 0) {
                    java.util.concurrent.locks.LockSupport.parkNanos(slowNanosPerChunk);
                }
            }
        } catch (IOException e) {
            // the client went away
        }
        seen.add(new Seen("/cdn/" + sha, range, false, status, sent));
        if (stallThis) {
            // a connection that stays open and sends nothing more, as a stuck network does
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return false;
        }
        return !cutThis;
    }

    private void answer(HttpExchange ex, int status, String code, String message, String range, boolean hasAuth) throws IOException {
        byte[] body = ("{\"error\":\"" + message + "\"}").getBytes(StandardCharsets.UTF_8);
        if (code != null) {
            ex.getResponseHeaders().add("X-Error-Code", code);
        }
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(status, body.length);
        ex.getResponseBody().write(body);
        seen.add(new Seen(ex.getRequestURI().getRawPath(), range, hasAuth, status, 0));
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
