package dev.gemma4j.hub;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Brings one file of the hub to a path: under a lock ({@code FILE.lock}), into {@code FILE.part},
 * continuing a part left by an earlier pull with an HTTP {@code Range} request (also after a connection
 * drops midway, a few times), hashed as it arrives and checked against the hub's SHA-256 (or git blob id)
 * before an atomic rename gives it its final name. A file under its final name is therefore always a
 * verified one, which is what lets a second pull of the same file that waited for the lock simply reuse it.
 */
public final class Downloader {
    private static final int BUFFER = 1 << 20;
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");

    private final HubClient hub;
    private final int attempts;
    private final long retryPauseMillis;
    private final java.time.Duration stall;

    /**
     * @param attempts connections tried per file before giving up (a dropped one resumes where it stopped)
     * @param stall    how long a connection may send nothing before it counts as dropped
     */
    public Downloader(HubClient hub, int attempts, long retryPauseMillis, java.time.Duration stall) {
        if (attempts < 1) {
            throw new IllegalArgumentException("attempts must be at least 1");
        }
        this.hub = hub;
        this.attempts = attempts;
        this.retryPauseMillis = retryPauseMillis;
        this.stall = stall;
    }

    /** How a file got to its place. */
    public enum Outcome { DOWNLOADED, RESUMED, REUSED }

    /** The part file a download of {@code target} writes into. */
    public static Path partOf(Path target) {
        return target.resolveSibling(target.getFileName() + ".part");
    }

    /** The lock file of {@code target}. */
    public static Path lockOf(Path target) {
        return target.resolveSibling(target.getFileName() + ".lock");
    }

    /** Fetches {@code file} of {@code repo} at {@code commit} to {@code target}. */
    public Outcome fetch(String repo, String commit, HubFile file, Path target, Progress progress) throws IOException {
        try (FileLocks.Held lock = FileLocks.acquire(lockOf(target),
            () -> progress.note("waiting for another pull of " + file.path() + " to finish"))) {
            if (Files.isRegularFile(target) && Files.size(target) == file.size()) {
                return Outcome.REUSED; // only a verified file ever gets this name
            }
            Path part = partOf(target);
            // SHA-256 of the part's bytes as they are written, so a file of many GB is not read a second time to check it
            Hash hash = new Hash();
            boolean resumed = false;
            IOException last = null;
            for (int attempt = 1; attempt <= attempts; attempt++) {
                long have = Files.isRegularFile(part) ? Files.size(part) : 0;
                if (have > file.size()) {
                    Files.delete(part); // not a prefix of this file
                    have = 0;
                }
                if (have > 0) {
                    resumed = true;
                    progress.note("resuming " + file.path() + " at " + Progress.bytes(have) + " of " + Progress.bytes(file.size()));
                }
                try {
                    transfer(repo, commit, file, part, have, hash, progress);
                    last = null;
                    break;
                } catch (HubException e) {
                    throw e; // the hub said no: retrying would not change that
                } catch (IOException e) {
                    last = e;
                    if (attempt < attempts) {
                        progress.note("connection lost on " + file.path() + " (" + HubClient.describe(e) + "); retrying ("
                            + (attempt + 1) + "/" + attempts + ")");
                        pause(attempt);
                    }
                }
            }
            if (last != null) {
                throw HubException.failure("download of " + file.path() + " failed after " + attempts + " attempts ("
                    + HubClient.describe(last) + "); the part is kept, pull again to continue", last);
            }
            if (file.sha256() != null && hash.hashed == file.size() && Files.size(part) == file.size()) {
                check(file, part, "SHA-256", hash.md.digest());
            } else {
                verify(file, part);
            }
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return resumed ? Outcome.RESUMED : Outcome.DOWNLOADED;
        }
    }

    /** A running SHA-256 and how many leading bytes of the part it covers. */
    private static final class Hash {
        final MessageDigest md = sha256();
        long hashed;

        /** Makes the digest cover exactly the part's first {@code n} bytes, reading them if it does not already. */
        void coverPrefix(Path part, long n) throws IOException {
            if (hashed == n) {
                return;
            }
            md.reset();
            hashed = 0;
            if (n == 0) {
                return;
            }
            try (InputStream in = Files.newInputStream(part)) {
                byte[] buf = new byte[BUFFER];
                while (hashed < n) {
                    int r = in.read(buf, 0, (int) Math.min(buf.length, n - hashed));
                    if (r < 0) {
                        throw new IOException(part + " is shorter than " + n + " bytes");
                    }
                    md.update(buf, 0, r);
                    hashed += r;
                }
            }
        }

        void update(byte[] b, int n) {
            md.update(b, 0, n);
            hashed += n;
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void transfer(String repo, String commit, HubFile file, Path part, long have, Hash hash, Progress progress) throws IOException {
        if (have == file.size()) {
            return; // an earlier pull got every byte but stopped before the check
        }
        HttpResponse<InputStream> r = hub.download(repo, commit, file.path(), have);
        try (InputStream in = r.body()) {
            long start;
            if (r.statusCode() == 206) {
                start = rangeStart(r, file);
                if (start != have) {
                    throw HubException.failure("the hub answered bytes from " + start + " for a request from " + have + " of " + file.path());
                }
            } else if (r.statusCode() == 416) {
                // the part does not fit what the hub has; start over
                Files.deleteIfExists(part);
                throw new IOException("range not satisfiable at " + have);
            } else {
                start = 0; // a server that ignores Range sends the whole file
            }
            hash.coverPrefix(part, start);
            progress.start(file.path(), file.size(), start);
            StandardOpenOption mode = start == 0 ? StandardOpenOption.TRUNCATE_EXISTING : StandardOpenOption.APPEND;
            long done = start;
            // The HTTP client has no timeout for a body that stops arriving; a watchdog interrupts the read
            // (the client's body stream waits interruptibly) so a stuck connection becomes a retry.
            Watchdog dog = new Watchdog(Thread.currentThread(), stall.toNanos());
            try (OutputStream out = new java.io.BufferedOutputStream(new java.io.FileOutputStream(part.toFile(), mode == StandardOpenOption.APPEND), BUFFER)) {
                byte[] buf = new byte[BUFFER];
                int n;
                while ((n = in.read(buf)) > 0) {
                    dog.alive();
                    if (done + n > file.size()) {
                        throw HubException.failure("the hub sent more than the " + file.size() + " bytes of " + file.path());
                    }
                    out.write(buf, 0, n);
                    hash.update(buf, n);
                    done += n;
                    progress.update(done);
                }
            } catch (IOException e) {
                if (dog.fired()) {
                    throw new IOException("no data for " + stall.toSeconds() + " s");
                }
                throw e;
            } finally {
                dog.stop();
            }
            if (done != file.size()) {
                throw new IOException("connection closed at " + done + " of " + file.size() + " bytes");
            }
            progress.finish(done);
        }
    }

    /** Interrupts a reading thread that got no bytes for a while; stopped before the transfer returns. */
    private static final class Watchdog {
        private final Thread reader;
        private final long limitNanos;
        private volatile long last = System.nanoTime();
        private volatile boolean stopped;
        private volatile boolean fired;
        private final Thread thread;

        Watchdog(Thread reader, long limitNanos) {
            this.reader = reader;
            this.limitNanos = limitNanos;
            this.thread = Thread.ofVirtual().name("pull-watchdog").start(this::watch);
        }

        private void watch() {
            long tick = Math.max(10_000_000L, Math.min(1_000_000_000L, limitNanos / 4));
            while (!stopped) {
                java.util.concurrent.locks.LockSupport.parkNanos(tick);
                synchronized (this) {
                    if (!stopped && System.nanoTime() - last > limitNanos) {
                        fired = true;
                        stopped = true;
                        reader.interrupt();
                    }
                }
            }
        }

        void alive() {
            last = System.nanoTime();
        }

        boolean fired() {
            return fired;
        }

        /** Stops watching; an interrupt it delivered is cleared, so it cannot leak into what the thread does next. */
        void stop() {
            synchronized (this) {
                stopped = true;
            }
            thread.interrupt();
            if (fired) {
                Thread.interrupted();
            }
        }
    }

    private static long rangeStart(HttpResponse<?> r, HubFile file) throws HubException {
        String cr = r.headers().firstValue("Content-Range").orElse("");
        Matcher m = CONTENT_RANGE.matcher(cr.trim());
        if (!m.matches()) {
            throw HubException.failure("the hub answered a range request for " + file.path() + " without a usable Content-Range ('" + cr + "')");
        }
        return Long.parseLong(m.group(1));
    }

    /**
     * Checks the part's content against the hub's id, reading it through once (a resumed part's
     * bytes from before the restart are checked the same way as the new ones).
     */
    static void verify(HubFile file, Path part) throws IOException {
        if (file.sha256() != null) {
            check(file, part, "SHA-256", digest(part, "SHA-256", null));
        } else if (file.gitSha1() != null) {
            // a git blob id is the SHA-1 of "blob SIZE\0" followed by the content
            byte[] header = ("blob " + Files.size(part) + "\0").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            check(file, part, "git blob id", digest(part, "SHA-1", header));
        }
    }

    /** Compares {@code got} with the hub's id; a mismatch deletes the part (its bytes cannot be trusted to resume from). */
    private static void check(HubFile file, Path part, String kind, byte[] got) throws IOException {
        String want = (file.sha256() != null ? file.sha256() : file.gitSha1()).toLowerCase(Locale.ROOT);
        String hex = HexFormat.of().formatHex(got);
        if (!want.equals(hex)) {
            Files.deleteIfExists(part);
            throw HubException.failure(file.path() + " is corrupt: its " + kind + " is " + hex + ", the hub says " + want
                + "; the partial download was deleted, pull again");
        }
    }

    private static byte[] digest(Path p, String algorithm, byte[] prefix) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        if (prefix != null) {
            md.update(prefix);
        }
        try (InputStream in = Files.newInputStream(p)) {
            byte[] buf = new byte[BUFFER];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
        }
        return md.digest();
    }

    private void pause(int attempt) throws IOException {
        try {
            Thread.sleep(retryPauseMillis * attempt);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted");
        }
    }
}
