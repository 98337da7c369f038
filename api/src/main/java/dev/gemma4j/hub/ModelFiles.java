package dev.gemma4j.hub;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Which files of a repository make the model a name selects. The repository's {@code .gguf} files are
 * grouped into models (a single file, or all {@code -0000k-of-0000N} shards of a split one); then:
 * <ul>
 * <li>a selector ending in {@code .gguf} is a file path (or a file name) and selects the model holding it;
 * <li>any other selector is a tag: it must equal, case-insensitively, a run of whole parts of the
 *     model's path (parts are separated by {@code - . /}), so {@code Q4_K_M} matches
 *     {@code gemma-Q4_K_M.gguf} but {@code Q4_K} does not match {@code gemma-UD-Q4_K_XL.gguf};
 *     {@code mmproj*} files (vision projectors, not language models) never match a tag;
 * <li>no selector is the tag {@code Q4_K_M}, or the repository's only model.
 * </ul>
 * When a tag matches several models and exactly one of them has the tag as its whole quantization
 * ({@code Q4_K_M} rather than {@code UD-Q4_K_M}) that one is taken; otherwise it is an error listing them.
 */
public final class ModelFiles {

    /** The tag a name without one asks for. */
    public static final String DEFAULT_TAG = "Q4_K_M";

    private static final Pattern SHARD = Pattern.compile("(.*)-(\\d{5})-of-(\\d{5})\\.gguf", Pattern.CASE_INSENSITIVE);
    private static final Pattern PART_SEPARATOR = Pattern.compile("[-./]");
    // What a quantization part of a file name looks like: Q4_K_M, IQ4_XS, Q8_0, BF16, F16, F32, MXFP4_MOE, TQ1_0 ...
    private static final Pattern QUANT = Pattern.compile("(?i)(i?q\\d[a-z0-9_]*|b?f16|f32|mxfp4[a-z0-9_]*|tq\\d[a-z0-9_]*)");

    private ModelFiles() {
    }

    /** A model of a repository: its files in shard order (one file unless split). */
    public record Model(List<HubFile> files) {
        public Model {
            files = List.copyOf(files);
        }

        /** The file to open (the first shard). */
        public HubFile primary() {
            return files.get(0);
        }

        public long size() {
            return files.stream().mapToLong(HubFile::size).sum();
        }

        /** The quantization its file name shows (such as {@code Q4_K_M} or {@code UD-Q4_K_XL}), or null. */
        public String quant() {
            return quantOf(primary().path());
        }

        boolean isProjector() {
            return primary().fileName().toLowerCase(Locale.ROOT).startsWith("mmproj");
        }

        @Override
        public String toString() {
            return files.size() == 1 ? primary().path() : primary().path() + " (+" + (files.size() - 1) + " shards)";
        }
    }

    /**
     * The repository's models: its {@code .gguf} files grouped, split models only when every shard is
     * listed, in path order.
     */
    public static List<Model> models(List<HubFile> files) {
        Map<String, List<HubFile>> groups = new LinkedHashMap<>();
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (HubFile f : files.stream().sorted(Comparator.comparing(HubFile::path)).toList()) {
            if (!f.path().toLowerCase(Locale.ROOT).endsWith(".gguf")) {
                continue;
            }
            Matcher m = SHARD.matcher(f.path());
            if (m.matches()) {
                String key = m.group(1) + "#" + m.group(3);
                groups.computeIfAbsent(key, k -> new ArrayList<>()).add(f);
                counts.put(key, Integer.parseInt(m.group(3)));
            } else {
                groups.computeIfAbsent(f.path(), k -> new ArrayList<>()).add(f);
            }
        }
        List<Model> out = new ArrayList<>();
        for (Map.Entry<String, List<HubFile>> g : groups.entrySet()) {
            Integer n = counts.get(g.getKey());
            if (n != null && g.getValue().size() != n) {
                continue; // an incomplete split model cannot be opened
            }
            out.add(new Model(g.getValue()));
        }
        return out;
    }

    /** The model {@code selector} (a tag, a file, or null for the default) selects among {@code files}. */
    public static Model select(List<HubFile> files, String selector, String where) throws HubException {
        List<Model> models = models(files);
        if (models.isEmpty()) {
            throw HubException.badInput(where + " has no .gguf model files");
        }
        if (selector != null && selector.toLowerCase(Locale.ROOT).endsWith(".gguf")) {
            for (Model m : models) {
                for (HubFile f : m.files()) {
                    if (f.path().equals(selector)) {
                        return m;
                    }
                }
            }
            List<Model> byName = models.stream()
                .filter(m -> m.files().stream().anyMatch(f -> f.fileName().equals(selector))).toList();
            if (byName.size() == 1) {
                return byName.get(0);
            }
            if (byName.size() > 1) {
                throw HubException.badInput(where + ": file name '" + selector + "' is in several folders; name one of: " + paths(byName));
            }
            throw HubException.badInput(where + " has no file '" + selector + "'; its models: " + choices(models));
        }
        List<Model> languageModels = models.stream().filter(m -> !m.isProjector()).toList();
        if (languageModels.isEmpty()) {
            throw HubException.badInput(where + " has only mmproj (vision projector) files, no language model");
        }
        String tag = selector != null ? selector : DEFAULT_TAG;
        List<Model> matches = languageModels.stream().filter(m -> matchesTag(m.primary().path(), tag)).toList();
        if (matches.size() > 1) {
            List<Model> exact = matches.stream().filter(m -> tag.equalsIgnoreCase(m.quant())).toList();
            if (exact.size() == 1) {
                return exact.get(0);
            }
            throw HubException.badInput(where + ": tag '" + tag + "' is ambiguous, it matches " + paths(matches)
                + "; name one of them with :FILE");
        }
        if (matches.size() == 1) {
            return matches.get(0);
        }
        if (selector == null && languageModels.size() == 1) {
            return languageModels.get(0);
        }
        throw HubException.badInput(where + (selector == null ? " has no " + DEFAULT_TAG + " model; name a tag" : " has no model tagged '" + tag + "'")
            + ", one of: " + choices(languageModels));
    }

    /** True when {@code tag}'s parts equal a run of whole parts of {@code path} (case-insensitively, shard suffix ignored). */
    public static boolean matchesTag(String path, String tag) {
        String[] want = PART_SEPARATOR.split(tag.toLowerCase(Locale.ROOT));
        String[] have = PART_SEPARATOR.split(stem(path).toLowerCase(Locale.ROOT));
        if (want.length == 0 || tag.isBlank()) {
            return false;
        }
        outer:
        for (int i = 0; i + want.length <= have.length; i++) {
            for (int j = 0; j < want.length; j++) {
                if (!have[i + j].equals(want[j])) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /** The quantization a file name shows: its last quant-like part, with a preceding {@code UD} kept. */
    public static String quantOf(String path) {
        String name = stem(path);
        int slash = name.lastIndexOf('/');
        String[] parts = PART_SEPARATOR.split(name.substring(slash + 1));
        for (int i = parts.length - 1; i >= 0; i--) {
            if (QUANT.matcher(parts[i]).matches()) {
                String q = parts[i].toUpperCase(Locale.ROOT);
                return i > 0 && parts[i - 1].equalsIgnoreCase("UD") ? "UD-" + q : q;
            }
        }
        return null;
    }

    /** The path without {@code .gguf} and without a {@code -0000k-of-0000N} shard suffix. */
    static String stem(String path) {
        Matcher m = SHARD.matcher(path);
        if (m.matches()) {
            return m.group(1);
        }
        return path.toLowerCase(Locale.ROOT).endsWith(".gguf") ? path.substring(0, path.length() - 5) : path;
    }

    private static String paths(List<Model> models) {
        return models.stream().map(m -> m.primary().path()).collect(Collectors.joining(", "));
    }

    private static String choices(List<Model> models) {
        return models.stream().map(m -> m.quant() != null ? m.quant() + " (" + m.primary().path() + ")" : m.primary().path())
            .collect(Collectors.joining(", "));
    }
}
