package dev.gemma4j.hub;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.ToLongFunction;

/**
 * Turns what a person typed after {@code --model} (or {@code pull}) into a GGUF file to open: an
 * existing path as it is; otherwise a model name ({@code [hf:]OWNER/REPO[@REVISION][:TAG|:FILE]})
 * from the cache; otherwise from the hub, pulled first. Holds no state beyond its configuration.
 */
public final class ModelResolver {
    private final ModelCache cache;
    private final HubClient hub;
    private final Downloader downloader;
    private final ToLongFunction<Path> usableSpace;

    /** A pulled model: its name, where its files are (first shard first), and whether anything came over the network. */
    public record Pulled(ModelName name, String commit, ModelFiles.Model model, List<Path> paths, boolean transferred) {
        public Path path() {
            return paths.get(0);
        }
    }

    /**
     * @param usableSpace bytes free for new files in a folder (the file store's usable space; tests give
     *                    a small number to see the check refuse)
     */
    public ModelResolver(ModelCache cache, HubClient hub, Downloader downloader, ToLongFunction<Path> usableSpace) {
        this.cache = cache;
        this.hub = hub;
        this.downloader = downloader;
        this.usableSpace = usableSpace;
    }

    /** The configuration {@code settings} describe, with the file store's real free space. */
    public static ModelResolver of(HubSettings settings) {
        HubClient hub = new HubClient(settings.endpoint(), settings.token());
        return new ModelResolver(new ModelCache(settings.home()), hub, new Downloader(hub, 5, 1000, java.time.Duration.ofSeconds(60)), ModelResolver::freeSpace);
    }

    public ModelCache cache() {
        return cache;
    }

    /**
     * The file {@code spec} names: an existing path; else a cached model; else a model pulled from the hub
     * now (with {@code progress}). A spec that is neither an existing path nor a name is a missing file.
     */
    public Path resolve(String spec, Progress progress) throws IOException {
        Path asPath = pathOrNull(spec);
        if (asPath != null && Files.exists(asPath)) {
            return asPath;
        }
        Optional<ModelName> name = ModelName.parse(spec);
        if (name.isEmpty()) {
            throw new NoSuchFileException(spec, null, "neither a file nor a model name [hf:]OWNER/REPO[@REVISION][:TAG|:FILE]");
        }
        Optional<ModelCache.Cached> hit = cache.find(name.get());
        if (hit.isPresent()) {
            return hit.get().path();
        }
        progress.note(name.get() + " is not in the cache (" + cache.home() + "); pulling it from " + hub.endpoint());
        return pull(name.get(), progress).path();
    }

    private static Path pathOrNull(String spec) {
        try {
            return Path.of(spec);
        } catch (java.nio.file.InvalidPathException e) {
            return null;
        }
    }

    /**
     * Pulls the model {@code name} selects: asks the hub which commit the revision is and which files the
     * selector takes, checks the disk has room for what is missing, fetches each file (reusing verified
     * ones, continuing parts), then records the model in the cache.
     */
    public Pulled pull(ModelName name, Progress progress) throws IOException {
        String revision = name.revisionOrDefault();
        HubClient.RepoInfo info = hub.info(name.repo(), revision);
        ModelFiles.Model model = ModelFiles.select(info.files(), name.selector(), name.repo() + "@" + revision);
        List<Path> paths = new ArrayList<>();
        long missing = 0;
        for (HubFile f : model.files()) {
            Path p = cache.pathOf(name.repo(), info.commit(), f);
            paths.add(p);
            if (!(Files.isRegularFile(p) && Files.size(p) == f.size())) {
                Path part = Downloader.partOf(p);
                missing += f.size() - (Files.isRegularFile(part) ? Math.min(Files.size(part), f.size()) : 0);
            }
        }
        if (missing > 0) {
            Path dir = cache.repoDir(name.repo());
            Files.createDirectories(dir);
            long free = usableSpace.applyAsLong(dir);
            if (free < missing) {
                throw HubException.badInput("not enough disk space for " + name + ": it needs " + Progress.bytes(missing)
                    + " more, " + dir + " has " + Progress.bytes(free) + " free (GEMMA_HOME sets where models go)");
            }
        }
        boolean transferred = false;
        for (int i = 0; i < model.files().size(); i++) {
            HubFile f = model.files().get(i);
            Downloader.Outcome o = downloader.fetch(name.repo(), info.commit(), f, paths.get(i), progress);
            transferred |= o != Downloader.Outcome.REUSED;
            if (o == Downloader.Outcome.REUSED) {
                progress.note(f.path() + ": already in the cache (" + Progress.bytes(f.size()) + ")");
            } else {
                progress.note(f.path() + ": SHA-256 verified");
            }
        }
        cache.record(name.repo(), revision, info.commit(), model);
        return new Pulled(name, info.commit(), model, paths, transferred);
    }

    private static long freeSpace(Path dir) {
        try {
            return Files.getFileStore(dir).getUsableSpace();
        } catch (IOException e) {
            return Long.MAX_VALUE; // unknown: let the download find out
        }
    }
}
