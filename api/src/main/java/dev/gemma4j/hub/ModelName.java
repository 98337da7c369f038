package dev.gemma4j.hub;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A model name: {@code [hf:]OWNER/REPO[@REVISION][:TAG|:FILE]}, the one grammar of {@code gemma pull} and
 * of every {@code --model} option. {@code revision} is null when none was named (the hub's default
 * branch, {@code main}); {@code selector} is null when neither a tag nor a file was named.
 */
public record ModelName(String repo, String revision, String selector) {

    /** The revision pulled when a name names none. */
    public static final String DEFAULT_REVISION = "main";

    // Hub repository ids are OWNER/NAME of letters, digits, '-', '_', '.'; a revision is a branch, tag or
    // commit (branches may hold '/', as refs/pr/1 does); a selector is a quant tag or a file path in the repo.
    private static final Pattern NAME = Pattern.compile(
        "(?<repo>[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*)"
            + "(?:@(?<rev>[A-Za-z0-9][A-Za-z0-9._/-]*))?"
            + "(?::(?<sel>[A-Za-z0-9._][A-Za-z0-9._/-]*))?");

    public ModelName {
        if (repo == null || !repo.contains("/")) {
            throw new IllegalArgumentException("a model name needs OWNER/REPO, got '" + repo + "'");
        }
    }

    /**
     * The name {@code text} spells, or empty when it is not one. A bare {@code a/b.gguf} is not taken for
     * a name (it reads as a file path that does not exist); {@code hf:} forces the name reading.
     */
    public static Optional<ModelName> parse(String text) {
        boolean forced = text.startsWith("hf:");
        String body = forced ? text.substring(3) : text;
        Matcher m = NAME.matcher(body);
        if (!m.matches()) {
            return Optional.empty();
        }
        String repo = m.group("repo");
        if (!forced && m.group("sel") == null && m.group("rev") == null && repo.toLowerCase(java.util.Locale.ROOT).endsWith(".gguf")) {
            return Optional.empty();
        }
        if (repo.contains("..") || (m.group("rev") != null && !HubFile.safePath(m.group("rev")))
            || (m.group("sel") != null && !HubFile.safePath(m.group("sel")))) {
            return Optional.empty(); // never a path that climbs out of the cache
        }
        return Optional.of(new ModelName(repo, m.group("rev"), m.group("sel")));
    }

    /** Parses a name a user gave where only a name makes sense ({@code pull}, {@code rm}). */
    public static ModelName parseOrThrow(String text) throws HubException {
        return parse(text).orElseThrow(() -> HubException.badInput(
            "'" + text + "' is not a model name: expected [hf:]OWNER/REPO[@REVISION][:TAG|:FILE]"
                + ", such as unsloth/gemma-4-26B-A4B-it-GGUF:Q4_K_M"));
    }

    /** The revision to ask for: the named one, or {@code main}. */
    public String revisionOrDefault() {
        return revision != null ? revision : DEFAULT_REVISION;
    }

    /** True when the selector names a file (it ends in {@code .gguf}) rather than a tag. */
    public boolean selectsFile() {
        return selector != null && selector.toLowerCase(java.util.Locale.ROOT).endsWith(".gguf");
    }

    public ModelName withSelector(String s) {
        return new ModelName(repo, revision, s);
    }

    @Override
    public String toString() {
        return repo + (revision != null ? "@" + revision : "") + (selector != null ? ":" + selector : "");
    }
}
