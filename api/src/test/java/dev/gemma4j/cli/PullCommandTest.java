package dev.gemma4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.gguf.GgufWriter;
import dev.gemma4j.hub.HubSettings;
import dev.gemma4j.hub.TestHub;
import dev.gemma4j.synth.SynthConfig;
import dev.gemma4j.synth.SynthModel;
import dev.gemma4j.synth.SynthType;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code gemma pull / list / rm} and {@code --model NAME}, as a person uses them, against a hub started
 * inside the test ({@link TestHub}) serving synth GGUFs.
 */
@org.junit.jupiter.api.Timeout(120)
class PullCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    static final String REPO = "acme/tiny-GGUF";

    @TempDir
    static Path shared;
    static byte[] q4;
    static byte[] q8;
    static byte[] xl;
    static List<byte[]> shards;

    @TempDir
    Path home;
    TestHub hub;

    @BeforeAll
    static void models() throws Exception {
        Path a = shared.resolve("q4.gguf");
        SynthModel.write(SynthModel.plan(SynthConfig.preset("tiny"), SynthType.Q4_K_M, 7), a, 2);
        q4 = Files.readAllBytes(a);
        Path b = shared.resolve("q8.gguf");
        SynthModel.write(SynthModel.plan(SynthConfig.preset("tiny"), SynthType.Q8_0, 8), b, 2);
        q8 = Files.readAllBytes(b);
        Path c = shared.resolve("xl.gguf");
        SynthModel.write(SynthModel.plan(SynthConfig.preset("tiny"), SynthType.Q4_K_M, 9), c, 2);
        xl = Files.readAllBytes(c);
        // the Q4_K_M model again, as a split model of three shards
        try (GgufFile f = GgufFile.open(a)) {
            GgufWriter w = GgufWriter.copyOf(f);
            List<Path> paths = w.writeSplit(shared.resolve("split.gguf"), (w.tensorCount() + 2) / 3, Long.MAX_VALUE);
            assertEquals(3, paths.size());
            shards = new ArrayList<>();
            for (Path p : paths) {
                shards.add(Files.readAllBytes(p));
            }
        }
    }

    @BeforeEach
    void startHub() throws Exception {
        hub = new TestHub();
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("README.md", "# tiny\n".getBytes());
        files.put("tiny-Q4_K_M.gguf", q4);
        files.put("tiny-Q8_0.gguf", q8);
        files.put("tiny-UD-Q4_K_XL.gguf", xl);
        files.put("mmproj-tiny-F16.gguf", new byte[] {1, 2, 3});
        hub.repo(REPO, COMMIT, files, false);
    }

    @AfterEach
    void stopHub() {
        hub.close();
    }

    record Run(int exit, String out, String err) {
    }

    Main main(String token) {
        return new Main(new HubSettings(home, hub.endpoint(), token), null, Duration.ofDays(1));
    }

    Run run(String... args) {
        return run(main(null), args);
    }

    static Run run(Main main, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(main);
        cl.setExecutionExceptionHandler(new CliErrors());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    Path cached(String file) {
        return home.resolve("models/acme/tiny-GGUF").resolve(COMMIT).resolve(file);
    }

    List<TestHub.Seen> cdn() {
        return hub.seen.stream().filter(s -> s.path().startsWith("/cdn/")).toList();
    }

    List<Path> leftovers() throws Exception {
        try (Stream<Path> s = Files.walk(home)) {
            return s.filter(p -> p.toString().endsWith(".part")).toList();
        }
    }

    @Test
    void pullTakesQ4KMByDefaultVerifiesItAndReusesItNextTime() throws Exception {
        Run r = run("pull", REPO);
        assertEquals(0, r.exit(), r.err());
        Path file = cached("tiny-Q4_K_M.gguf");
        assertEquals(file.toString(), r.out().strip());
        assertArrayEquals(q4, Files.readAllBytes(file));
        assertTrue(r.err().contains("tiny-Q4_K_M.gguf: SHA-256 verified"), r.err());
        assertEquals(List.of(), leftovers());
        JsonNode manifest = JSON.readTree(home.resolve("models/acme/tiny-GGUF/manifest.json").toFile());
        assertEquals(COMMIT, manifest.get("models").get(0).get("commit").asText());
        assertEquals(TestHub.sha256(q4), manifest.get("models").get(0).get("files").get(0).get("sha256").asText());
        assertEquals(1, cdn().size());

        Run again = run("pull", "hf:" + REPO + ":q4_k_m");
        assertEquals(0, again.exit(), again.err());
        assertEquals(file.toString(), again.out().strip());
        assertTrue(again.err().contains("already in the cache"), again.err());
        assertEquals(1, cdn().size(), "nothing downloaded the second time");
    }

    @Test
    void aDroppedConnectionResumesWithARangeRequest() throws Exception {
        hub.cutNext(q8, 1);
        Run r = run("pull", REPO + ":Q8_0");
        assertEquals(0, r.exit(), r.err());
        assertArrayEquals(q8, Files.readAllBytes(cached("tiny-Q8_0.gguf")));
        List<TestHub.Seen> cdn = cdn();
        assertEquals(2, cdn.size(), cdn.toString());
        assertEquals(null, cdn.get(0).range());
        long half = q8.length / 2;
        assertEquals(half, cdn.get(0).bytesSent());
        // the second request asks for what the first did not deliver (a reset connection may lose a little of the half sent)
        Matcher range = Pattern.compile("bytes=(\\d+)-").matcher(cdn.get(1).range());
        assertTrue(range.matches(), cdn.get(1).range());
        long from = Long.parseLong(range.group(1));
        assertTrue(from > 0 && from <= half, "resumed at " + from);
        assertEquals(206, cdn.get(1).status());
        assertEquals(q8.length - from, cdn.get(1).bytesSent(), "only the rest is sent again");
        assertTrue(r.err().contains("connection lost on tiny-Q8_0.gguf"), r.err());
        assertTrue(r.err().contains("resuming tiny-Q8_0.gguf at "), r.err());
    }

    @Test
    void aPartLeftByAnInterruptedPullIsContinued() throws Exception {
        Path part = cached("tiny-Q8_0.gguf.part");
        Files.createDirectories(part.getParent());
        int have = q8.length - 12345;
        Files.write(part, java.util.Arrays.copyOf(q8, have));
        Run r = run("pull", REPO + ":tiny-Q8_0.gguf");
        assertEquals(0, r.exit(), r.err());
        assertEquals("bytes=" + have + "-", cdn().get(0).range());
        assertEquals(12345, hub.bytesServed());
        assertArrayEquals(q8, Files.readAllBytes(cached("tiny-Q8_0.gguf")));
        assertFalse(Files.exists(part));
    }

    @Test
    void aCorruptedByteFailsTheCheckAndDeletesThePart() throws Exception {
        hub.corrupt(q4);
        Run r = run("pull", REPO + ":Q4_K_M");
        assertEquals(1, r.exit(), r.err());
        String last = r.err().strip().lines().reduce((x, y) -> y).orElseThrow();
        assertTrue(last.startsWith("pull: tiny-Q4_K_M.gguf is corrupt: its SHA-256 is "), last);
        assertTrue(last.contains("the hub says " + TestHub.sha256(q4)) && last.contains("the partial download was deleted"), last);
        assertFalse(Files.exists(cached("tiny-Q4_K_M.gguf")), "never a bad file under the final name");
        assertEquals(List.of(), leftovers());
        assertTrue(run("list").out().startsWith("no models"), "a failed pull lists nothing");
    }

    @Test
    void aSplitModelBringsEveryShardAndRunsByName() throws Exception {
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (int i = 0; i < 3; i++) {
            files.put(String.format("Q4_K_M/tiny-Q4_K_M-%05d-of-00003.gguf", i + 1), shards.get(i));
        }
        files.put("mmproj-tiny-Q4_K_M.gguf", new byte[] {4, 5, 6}); // holds the tag, but is never a model
        files.put("tiny-Q8_0.gguf", q8);
        hub.repo("acme/split-GGUF", COMMIT, files, false);
        Run r = run("pull", "acme/split-GGUF:Q4_K_M");
        assertEquals(0, r.exit(), r.err());
        Path dir = home.resolve("models/acme/split-GGUF").resolve(COMMIT).resolve("Q4_K_M");
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(shards.get(i), Files.readAllBytes(dir.resolve(String.format("tiny-Q4_K_M-%05d-of-00003.gguf", i + 1))));
        }
        assertEquals(dir.resolve("tiny-Q4_K_M-00001-of-00003.gguf").toString(), r.out().strip());
        assertEquals(3, cdn().size(), "the three shards, not the mmproj file");
        try (GgufFile f = GgufFile.open(Path.of(r.out().strip()))) {
            assertEquals(3, f.shardPaths().size());
        }
        // and the split model runs by its name, from the cache
        Run split = run("generate", "-m", "acme/split-GGUF:Q4_K_M", "--prompt", "w1 w2", "-n", "6", "-t", "1", "--json");
        assertEquals(0, split.exit(), split.err());
        assertEquals("", split.err());
        assertEquals(6, JSON.readTree(split.out()).get("ids").size(), split.out());
    }

    @Test
    void unknownRepositoryRevisionAndTagAreOneLineErrors() {
        Run repo = run("pull", "acme/nope-GGUF:Q4_K_M");
        assertEquals(2, repo.exit());
        assertEquals("pull: no repository acme/nope-GGUF on " + hub.endpoint() + " (if it is private or gated, set HF_TOKEN)", repo.err().strip());

        Run rev = run("pull", REPO + "@v9:Q4_K_M");
        assertEquals(2, rev.exit());
        assertEquals("pull: no revision 'v9' in " + REPO, rev.err().strip());

        Run tag = run("pull", REPO + ":Q5_K_S");
        assertEquals(2, tag.exit());
        assertEquals("pull: " + REPO + "@main has no model tagged 'Q5_K_S', one of: Q4_K_M (tiny-Q4_K_M.gguf), Q8_0 (tiny-Q8_0.gguf),"
            + " UD-Q4_K_XL (tiny-UD-Q4_K_XL.gguf)", tag.err().strip());

        Run name = run("pull", "not a name");
        assertEquals(2, name.exit());
        assertEquals(1, name.err().strip().lines().count(), name.err());
        assertTrue(name.err().contains("is not a model name"), name.err());
        assertEquals(List.of(), cdn());
    }

    @Test
    void anAmbiguousTagListsTheCandidates() {
        hub.repo("acme/two-GGUF", COMMIT, Map.of("a-Q4_K_M.gguf", q4, "b-Q4_K_M.gguf", xl), false);
        Run r = run("pull", "acme/two-GGUF:Q4_K_M");
        assertEquals(2, r.exit());
        assertEquals("pull: acme/two-GGUF@main: tag 'Q4_K_M' is ambiguous, it matches a-Q4_K_M.gguf, b-Q4_K_M.gguf; name one of them with :FILE",
            r.err().strip());
        Run exact = run("pull", "acme/two-GGUF:b-Q4_K_M.gguf");
        assertEquals(0, exact.exit(), exact.err());
    }

    @Test
    void aGatedRepositoryNeedsHfTokenWhichNeverReachesTheCdn() throws Exception {
        hub.repo("google/gated-GGUF", COMMIT, Map.of("g-Q4_K_M.gguf", q4), true);
        Run anon = run("pull", "google/gated-GGUF");
        assertEquals(2, anon.exit());
        assertEquals("pull: google/gated-GGUF is gated: accept its licence at " + hub.endpoint() + "/google/gated-GGUF"
            + " and set HF_TOKEN to an access token of that account", anon.err().strip());

        Run wrong = run(main("hf_wrong"), "pull", "google/gated-GGUF");
        assertEquals(2, wrong.exit());
        assertTrue(wrong.err().startsWith("pull: HF_TOKEN has no access to google/gated-GGUF (HTTP 403): accept its licence"), wrong.err());

        Run ok = run(main(TestHub.TOKEN), "pull", "google/gated-GGUF");
        assertEquals(0, ok.exit(), ok.err());
        assertArrayEquals(q4, Files.readAllBytes(Path.of(ok.out().strip())));
        assertTrue(hub.seen.stream().anyMatch(s -> s.path().contains("/resolve/") && s.authorized() && s.status() == 302), hub.seen.toString());
        assertTrue(cdn().stream().noneMatch(TestHub.Seen::authorized), "the token is not forwarded to the CDN host");
    }

    @Test
    void twoConcurrentPullsOfOneFileDownloadItOnce() throws Exception {
        hub.slow(15); // ~0.5 s for the file, so the second pull arrives while the first is running
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<Run> a = pool.submit(() -> run("pull", REPO + ":Q8_0"));
            Thread.sleep(100);
            Future<Run> b = pool.submit(() -> run("pull", REPO + ":Q8_0"));
            Run ra = a.get();
            Run rb = b.get();
            assertEquals(0, ra.exit(), ra.err());
            assertEquals(0, rb.exit(), rb.err());
            assertEquals(ra.out(), rb.out());
            // whichever got the lock first downloaded; the other waited for it and reused the file
            Run waited = ra.err().contains("waiting for another pull") ? ra : rb;
            Run fetched = waited == ra ? rb : ra;
            assertTrue(waited.err().contains("waiting for another pull of tiny-Q8_0.gguf to finish"), ra.err() + "\n--\n" + rb.err());
            assertTrue(waited.err().contains("already in the cache"), waited.err());
            assertTrue(fetched.err().contains("SHA-256 verified") && !fetched.err().contains("waiting"), fetched.err());
        } finally {
            pool.shutdownNow();
        }
        assertEquals(q8.length, hub.bytesServed(), "downloaded once");
        assertArrayEquals(q8, Files.readAllBytes(cached("tiny-Q8_0.gguf")));
        assertEquals(1, JSON.readTree(home.resolve("models/acme/tiny-GGUF/manifest.json").toFile()).get("models").size());
    }

    @Test
    void progressIsPlainPeriodicLinesWhenNotOnATerminal() {
        hub.slow(10);
        Run r = run(new Main(new HubSettings(home, hub.endpoint(), null), null, Duration.ofMillis(50)), "pull", REPO + ":Q8_0");
        assertEquals(0, r.exit(), r.err());
        Pattern line = Pattern.compile("pull tiny-Q8_0\\.gguf: ([0-9.]+ [KMG]?i?B) / ([0-9.]+ [KMG]?i?B) +(\\d+)%, [0-9.]+ [KMG]?i?B/s, (ETA [0-9:-]+|done)");
        List<Integer> percents = new ArrayList<>();
        for (String l : r.err().lines().toList()) {
            if (l.startsWith("pull tiny-Q8_0.gguf: ")) {
                Matcher m = line.matcher(l);
                assertTrue(m.matches(), l);
                percents.add(Integer.parseInt(m.group(3)));
            }
        }
        assertTrue(percents.size() >= 4, r.err());
        assertEquals(0, percents.get(0));
        assertEquals(100, percents.get(percents.size() - 1));
        for (int i = 1; i < percents.size(); i++) {
            assertTrue(percents.get(i) >= percents.get(i - 1), r.err());
        }
        assertFalse(r.err().contains("\r"), "no carriage returns in a log");
        assertTrue(r.err().strip().endsWith("pulled acme/tiny-GGUF @ 0123456789ab: tiny-Q8_0.gguf, " + dev.gemma4j.hub.Progress.bytes(q8.length)), r.err());
    }

    @Test
    void modelNamesRunFromTheCacheWithoutTheHubAndArePulledOnFirstUse() throws Exception {
        String[] gen = {"--prompt", "w1 w2 w3", "-n", "5", "-t", "1", "--json"};
        // first use: not cached, pulled (progress on stderr), then run; stdout stays the JSON result
        Run first = run(concat(new String[] {"generate", "--model", REPO + ":Q4_K_M"}, gen));
        assertEquals(0, first.exit(), first.err());
        assertTrue(first.err().contains("acme/tiny-GGUF:Q4_K_M is not in the cache"), first.err());
        assertEquals(5, JSON.readTree(first.out()).get("ids").size(), first.out());
        assertArrayEquals(q4, Files.readAllBytes(cached("tiny-Q4_K_M.gguf")));
        // with the hub gone, the name still runs: from the cache, no network
        hub.close();
        int before = hub.seen.size();
        Run cachedRun = run(concat(new String[] {"generate", "--model", "hf:" + REPO + "@main:q4_k_m"}, gen));
        assertEquals(0, cachedRun.exit(), cachedRun.err());
        assertEquals("", cachedRun.err(), "nothing pulled, nothing said");
        assertEquals(5, JSON.readTree(cachedRun.out()).get("ids").size(), cachedRun.out());
        assertEquals(before, hub.seen.size());
        // a name that is not cached now fails in one line naming the hub
        Run offline = run(concat(new String[] {"generate", "--model", REPO + ":Q8_0"}, gen));
        assertEquals(1, offline.exit());
        assertTrue(offline.err().strip().endsWith("cannot reach the hub at " + hub.endpoint() + " (ConnectException)")
            || offline.err().contains("cannot reach the hub at " + hub.endpoint()), offline.err());
        // a missing file that is no name stays a missing file
        Run missing = run(concat(new String[] {"generate", "--model", home.resolve("none.gguf").toString()}, gen));
        assertEquals(2, missing.exit());
        assertTrue(missing.err().startsWith("generate: no such file: " + home.resolve("none.gguf")), missing.err());
    }

    @Test
    void listShowsNameQuantSizePathAndRmRemoves() throws Exception {
        assertEquals(0, run("pull", REPO).exit());
        assertEquals(0, run("pull", REPO + ":UD-Q4_K_XL").exit());
        Run list = run("list");
        assertEquals(0, list.exit(), list.err());
        List<String> lines = list.out().lines().toList();
        assertEquals(3, lines.size(), list.out());
        assertTrue(lines.get(0).matches("NAME +QUANT +SIZE +PATH"), lines.get(0));
        assertTrue(lines.get(1).matches("acme/tiny-GGUF:Q4_K_M +Q4_K_M +[0-9.]+ [KM]iB +" + Pattern.quote(cached("tiny-Q4_K_M.gguf").toString())), lines.get(1));
        assertTrue(lines.get(2).matches("acme/tiny-GGUF:UD-Q4_K_XL +UD-Q4_K_XL +[0-9.]+ [KM]iB +" + Pattern.quote(cached("tiny-UD-Q4_K_XL.gguf").toString())), lines.get(2));

        JsonNode json = JSON.readTree(run("list", "--json").out());
        assertEquals(2, json.size());
        assertEquals("acme/tiny-GGUF:Q4_K_M", json.get(0).get("name").asText());
        assertEquals(q4.length, json.get(0).get("size").asLong());
        assertEquals(COMMIT, json.get(0).get("commit").asText());
        assertEquals("main", json.get(0).get("revision").asText());

        Run rm = run("rm", "acme/tiny-GGUF:UD-Q4_K_XL");
        assertEquals(0, rm.exit(), rm.err());
        assertTrue(rm.out().startsWith("removed acme/tiny-GGUF:UD-Q4_K_XL"), rm.out());
        assertFalse(Files.exists(cached("tiny-UD-Q4_K_XL.gguf")));
        assertTrue(Files.exists(cached("tiny-Q4_K_M.gguf")));
        assertEquals(1, JSON.readTree(run("list", "--json").out()).size());

        Run again = run("rm", "acme/tiny-GGUF:UD-Q4_K_XL");
        assertEquals(2, again.exit());
        assertTrue(again.err().startsWith("rm: acme/tiny-GGUF:UD-Q4_K_XL in the cache has no model tagged 'UD-Q4_K_XL'"), again.err());
        Run other = run("rm", "acme/other-GGUF");
        assertEquals(2, other.exit());
        assertEquals("rm: no model acme/other-GGUF in the cache (" + home + "); gemma list shows what is there", other.err().strip());

        assertEquals(0, run("rm", REPO).exit());
        assertFalse(Files.exists(home.resolve("models/acme")), "nothing left of the repository");
        assertTrue(run("list").out().startsWith("no models in " + home));
    }

    @Test
    void thePullIsRefusedBeforeStartingWhenTheDiskIsTooSmall() throws Exception {
        dev.gemma4j.hub.HubClient client = new dev.gemma4j.hub.HubClient(hub.endpoint(), null);
        dev.gemma4j.hub.ModelResolver small = new dev.gemma4j.hub.ModelResolver(new dev.gemma4j.hub.ModelCache(home), client,
            new dev.gemma4j.hub.Downloader(client, 1, 0, Duration.ofSeconds(30)), dir -> 1000);
        dev.gemma4j.hub.HubException e = org.junit.jupiter.api.Assertions.assertThrows(dev.gemma4j.hub.HubException.class,
            () -> small.pull(dev.gemma4j.hub.ModelName.parseOrThrow(REPO + ":Q8_0"), dev.gemma4j.hub.Progress.silent()));
        assertTrue(e.badInput());
        assertTrue(e.getMessage().startsWith("not enough disk space for " + REPO + ":Q8_0: it needs " + dev.gemma4j.hub.Progress.bytes(q8.length)
            + " more, "), e.getMessage());
        assertTrue(e.getMessage().endsWith("has 1000 B free (GEMMA_HOME sets where models go)"), e.getMessage());
        assertEquals(List.of(), cdn(), "nothing downloaded");
    }

    @Test
    void aPullThatRunsOutOfAttemptsKeepsThePartForTheNextOne() throws Exception {
        dev.gemma4j.hub.HubClient client = new dev.gemma4j.hub.HubClient(hub.endpoint(), null);
        dev.gemma4j.hub.ModelResolver once = new dev.gemma4j.hub.ModelResolver(new dev.gemma4j.hub.ModelCache(home), client,
            new dev.gemma4j.hub.Downloader(client, 1, 0, Duration.ofSeconds(30)), dir -> Long.MAX_VALUE);
        hub.cutNext(q4, 1);
        dev.gemma4j.hub.ModelName name = dev.gemma4j.hub.ModelName.parseOrThrow(REPO);
        dev.gemma4j.hub.HubException e = org.junit.jupiter.api.Assertions.assertThrows(dev.gemma4j.hub.HubException.class,
            () -> once.pull(name, dev.gemma4j.hub.Progress.silent()));
        assertFalse(e.badInput());
        assertTrue(e.getMessage().contains("the part is kept, pull again to continue"), e.getMessage());
        long kept = Files.size(cached("tiny-Q4_K_M.gguf.part"));
        assertTrue(kept > 0 && kept <= q4.length / 2, "kept " + kept);
        assertEquals(0, once.pull(name, dev.gemma4j.hub.Progress.silent()).paths().size() - 1);
        assertEquals("bytes=" + kept + "-", cdn().get(1).range());
        assertArrayEquals(q4, Files.readAllBytes(cached("tiny-Q4_K_M.gguf")));
    }

    @Test
    void aConnectionThatGoesSilentCountsAsDroppedAndResumes() throws Exception {
        dev.gemma4j.hub.HubClient client = new dev.gemma4j.hub.HubClient(hub.endpoint(), null);
        dev.gemma4j.hub.ModelResolver r = new dev.gemma4j.hub.ModelResolver(new dev.gemma4j.hub.ModelCache(home), client,
            new dev.gemma4j.hub.Downloader(client, 2, 0, Duration.ofMillis(500)), dir -> Long.MAX_VALUE);
        hub.stallNext(q8, 1);
        StringWriter log = new StringWriter();
        long t0 = System.nanoTime();
        r.pull(dev.gemma4j.hub.ModelName.parseOrThrow(REPO + ":Q8_0"),
            new dev.gemma4j.hub.Progress(new PrintWriter(log), false, Duration.ofDays(1), System::nanoTime));
        assertTrue(System.nanoTime() - t0 < 20_000_000_000L, "the stall was cut short, not waited out");
        assertArrayEquals(q8, Files.readAllBytes(cached("tiny-Q8_0.gguf")));
        assertTrue(log.toString().contains("no data for 0 s"), log.toString());
        assertEquals("bytes=" + q8.length / 2 + "-", cdn().get(1).range(), "a silent connection loses nothing it delivered");
        assertFalse(Thread.currentThread().isInterrupted(), "the watchdog's interrupt does not leak");
    }

    static String[] concat(String[] a, String[] b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
