package dev.gemma4j.hub;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The model cache under {@code GEMMA_HOME} (default {@code ~/.cache/gemma4j}):
 * <pre>
 * GEMMA_HOME/models/OWNER/REPO/
 *   manifest.json        the models pulled from the repository: revision, the commit it resolved to, files
 *   COMMIT/PATH          a file of the repository at that commit, verified (PATH keeps the repository's folders)
 *   COMMIT/PATH.part     while a pull runs or after it stopped: the bytes so far (the next pull continues it)
 *   COMMIT/PATH.lock     the lock pulls of that file take
 * </pre>
 * Files live under the commit, not the branch name, so a file never changes content under its name:
 * pulling {@code main} again after the repository moved brings the new commit's files next to the old,
 * and the old ones go once no model of the manifest needs them. A model is listed in the manifest only
 * after all its files are verified, so a name found here always opens. The manifest is rewritten whole
 * (temporary file, atomic rename) under {@code manifest.json.lock}.
 */
public final class ModelCache {
    static final String MANIFEST = "manifest.json";
    private static final ObjectMapper JSON = new ObjectMapper()
        .enable(SerializationFeature.INDENT_OUTPUT)
        .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .setSerializationInclusion(JsonInclude.Include.NON_NULL);

    private final Path home;

    public ModelCache(Path home) {
        this.home = home;
    }

    public Path home() {
        return home;
    }

    /** The manifest of one repository. */
    public record Manifest(String repo, List<Entry> models) {
        public Manifest {
            models = models == null ? List.of() : List.copyOf(models);
        }
    }

    /** A pulled model: the revision named, the commit it resolved to, its files (first shard first). */
    public record Entry(String revision, String commit, List<HubFile> files, String pulledAt) {
        public Entry {
            files = List.copyOf(files);
        }

        public ModelFiles.Model model() {
            return new ModelFiles.Model(files);
        }

        public long size() {
            return files.stream().mapToLong(HubFile::size).sum();
        }
    }

    /** A model in the cache, as {@code list} shows it. */
    public record Cached(String name, String repo, Entry entry, List<Path> paths) {
        /** The file to open (the first shard). */
        public Path path() {
            return paths.get(0);
        }

        public String quant() {
            return entry.model().quant();
        }
    }

    /** The folder of {@code repo}'s files. */
    public Path repoDir(String repo) {
        String[] p = repo.split("/", 2);
        return home.resolve("models").resolve(p[0]).resolve(p[1]);
    }

    /** Where {@code file} of {@code repo} at {@code commit} lives. */
    public Path pathOf(String repo, String commit, HubFile file) {
        return repoDir(repo).resolve(commit).resolve(file.path());
    }

    public Manifest manifest(String repo) throws IOException {
        Path m = repoDir(repo).resolve(MANIFEST);
        if (!Files.isRegularFile(m)) {
            return new Manifest(repo, List.of());
        }
        try {
            return JSON.readValue(m.toFile(), Manifest.class);
        } catch (IOException e) {
            throw HubException.failure("the cache manifest " + m + " is unreadable (" + HubClient.describe(e)
                + "); remove it and pull again");
        }
    }

    /** Records a pulled model, replacing the entry of the same revision and first file, and drops files nothing needs any more. */
    public void record(String repo, String revision, String commit, ModelFiles.Model model) throws IOException {
        Path dir = repoDir(repo);
        try (FileLocks.Held l = FileLocks.acquire(dir.resolve(MANIFEST + ".lock"), () -> { })) {
            Manifest old = manifest(repo);
            List<Entry> entries = new ArrayList<>();
            for (Entry e : old.models()) {
                if (!(e.revision().equals(revision) && e.files().get(0).path().equals(model.primary().path()))) {
                    entries.add(e);
                }
            }
            entries.add(new Entry(revision, commit, model.files(), Instant.now().toString()));
            write(repo, entries, old);
        }
    }

    /** Forgets {@code entry} and deletes the files no other entry needs. */
    public void remove(String repo, Entry entry) throws IOException {
        Path dir = repoDir(repo);
        try (FileLocks.Held l = FileLocks.acquire(dir.resolve(MANIFEST + ".lock"), () -> { })) {
            Manifest old = manifest(repo);
            List<Entry> entries = old.models().stream().filter(e -> !e.equals(entry)).toList();
            write(repo, entries, old);
        }
        if (manifest(repo).models().isEmpty()) {
            // Part files of other pulls stay (a later pull continues them); the rest goes with the last model.
            Files.deleteIfExists(dir.resolve(MANIFEST));
            Files.deleteIfExists(dir.resolve(MANIFEST + ".lock"));
            pruneEmptyUpTo(dir, home.resolve("models"));
        }
    }

    private void write(String repo, List<Entry> entries, Manifest old) throws IOException {
        Path dir = repoDir(repo);
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, MANIFEST, ".tmp");
        JSON.writeValue(tmp.toFile(), new Manifest(repo, entries));
        Files.move(tmp, dir.resolve(MANIFEST), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        // files of entries that are gone and needed by none that stays
        Set<Path> keep = new HashSet<>();
        for (Entry e : entries) {
            for (HubFile f : e.files()) {
                keep.add(pathOf(repo, e.commit(), f));
            }
        }
        for (Entry e : old.models()) {
            for (HubFile f : e.files()) {
                Path p = pathOf(repo, e.commit(), f);
                if (!keep.contains(p)) {
                    Files.deleteIfExists(p);
                    Files.deleteIfExists(Downloader.lockOf(p));
                    pruneEmptyUpTo(p.getParent(), dir);
                }
            }
        }
    }

    /**
     * The cached model {@code name} selects, or empty. Only models of the named revision (or commit)
     * take part, so a name with a tag finds its model without asking the hub.
     */
    public Optional<Cached> find(ModelName name) throws IOException {
        List<Entry> candidates = entriesOf(name);
        if (candidates.isEmpty()) {
            return Optional.empty();
        }
        List<HubFile> files = candidates.stream().flatMap(e -> e.files().stream()).distinct().toList();
        ModelFiles.Model chosen;
        try {
            chosen = ModelFiles.select(files, name.selector(), name.repo());
        } catch (HubException e) {
            return Optional.empty(); // the hub, which has every file, decides (or explains)
        }
        for (Entry e : candidates) {
            if (e.files().equals(chosen.files())) {
                Cached c = cached(name.repo(), e);
                if (c.paths().stream().allMatch(Files::isRegularFile)) {
                    return Optional.of(c);
                }
            }
        }
        return Optional.empty();
    }

    /** The cached model {@code name} selects, for {@code rm}: an error that says what is there when none or several. */
    public Cached require(ModelName name) throws IOException {
        List<Entry> candidates = entriesOf(name);
        if (candidates.isEmpty()) {
            throw HubException.badInput("no model " + name + " in the cache (" + home + "); gemma list shows what is there");
        }
        List<HubFile> files = candidates.stream().flatMap(e -> e.files().stream()).distinct().toList();
        ModelFiles.Model chosen;
        try {
            chosen = ModelFiles.select(files, name.selector(), name + " in the cache");
        } catch (HubException e) {
            throw HubException.badInput(e.getMessage() + "; gemma list shows what is there");
        }
        for (Entry e : candidates) {
            if (e.files().equals(chosen.files())) {
                return cached(name.repo(), e);
            }
        }
        throw HubException.badInput("no model " + name + " in the cache (" + home + "); gemma list shows what is there");
    }

    private List<Entry> entriesOf(ModelName name) throws IOException {
        String rev = name.revisionOrDefault();
        return manifest(name.repo()).models().stream()
            .filter(e -> e.revision().equals(rev) || e.commit().equals(rev)).toList();
    }

    /** Every cached model, by repository and name. */
    public List<Cached> list() throws IOException {
        Path models = home.resolve("models");
        if (!Files.isDirectory(models)) {
            return List.of();
        }
        List<Cached> out = new ArrayList<>();
        List<Path> manifests;
        try (Stream<Path> s = Files.find(models, 3, (p, a) -> a.isRegularFile() && p.getFileName().toString().equals(MANIFEST))) {
            manifests = s.sorted().toList();
        }
        for (Path m : manifests) {
            Path rel = models.relativize(m.getParent());
            if (rel.getNameCount() != 2) {
                continue;
            }
            String repo = rel.getName(0) + "/" + rel.getName(1);
            for (Entry e : manifest(repo).models()) {
                out.add(cached(repo, e));
            }
        }
        out.sort(Comparator.comparing(Cached::name));
        return out;
    }

    /**
     * A cached entry with the shortest name that selects it among the models of its revision: its quant
     * tag when that is unambiguous there, else its file path.
     */
    private Cached cached(String repo, Entry e) throws IOException {
        ModelName base = new ModelName(repo, e.revision().equals(ModelName.DEFAULT_REVISION) ? null : e.revision(), null);
        List<HubFile> files = manifest(repo).models().stream().filter(x -> x.revision().equals(e.revision()))
            .flatMap(x -> x.files().stream()).distinct().toList();
        ModelName name = base.withSelector(e.files().get(0).path());
        String quant = e.model().quant();
        if (quant != null) {
            try {
                if (ModelFiles.select(files, quant, repo).files().equals(e.files())) {
                    name = base.withSelector(quant);
                }
            } catch (HubException ignored) {
                // ambiguous among the cached files: the file path names it
            }
        }
        List<Path> paths = e.files().stream().map(f -> pathOf(repo, e.commit(), f)).toList();
        return new Cached(name.toString(), repo, e, paths);
    }

    /** Deletes {@code dir} and its parents while they are empty, stopping at {@code stop}. */
    private static void pruneEmptyUpTo(Path dir, Path stop) throws IOException {
        for (Path d = dir; d != null && d.startsWith(stop) && !d.equals(stop); d = d.getParent()) {
            try (Stream<Path> s = Files.list(d)) {
                if (s.findAny().isPresent()) {
                    return;
                }
            } catch (java.nio.file.NoSuchFileException e) {
                continue;
            }
            try {
                Files.delete(d);
            } catch (DirectoryNotEmptyException e) {
                return;
            }
        }
    }
}
