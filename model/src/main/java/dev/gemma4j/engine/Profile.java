package dev.gemma4j.engine;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * A backend profile: the settings of one {@code profiles/NAME.properties} file (which engine, which
 * TornadoVM backend and device, JVM flags for the launcher, kernel tuning). Adding a profile file is all a
 * new device needs; the engine factory picks the {@link EngineProvider} named by {@link #backend()}.
 *
 * @param name     the profile's name (the file name without {@code .properties})
 * @param settings every key of the file, unmodifiable
 */
public record Profile(String name, Map<String, String> settings) {

    /** Setting naming the engine provider ({@code cpu}, {@code tornado}). */
    public static final String BACKEND = "backend";
    /** Setting naming the device, {@code B:D} in TornadoVM's backend:device numbering. */
    public static final String DEVICE = "device";

    public Profile {
        settings = Collections.unmodifiableMap(new TreeMap<>(settings));
    }

    /** The built-in CPU profile, used when no profile is named and no profile files are at hand. */
    public static Profile cpu() {
        return new Profile("cpu", Map.of(BACKEND, "cpu"));
    }

    /** Which {@link EngineProvider} runs this profile. */
    public String backend() {
        return settings.getOrDefault(BACKEND, "cpu");
    }

    public String get(String key) {
        return settings.get(key);
    }

    public String get(String key, String dflt) {
        return settings.getOrDefault(key, dflt);
    }

    /** An integer setting, or {@code dflt} when absent; a malformed value is an error naming the profile and key. */
    public int getInt(String key, int dflt) {
        String v = settings.get(key);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("profile " + name + ": " + key + " must be an integer, got '" + v + "'");
        }
    }

    /** A copy with one setting replaced (e.g. {@code --device} on the command line overriding the file). */
    public Profile with(String key, String value) {
        Map<String, String> m = new LinkedHashMap<>(settings);
        m.put(key, value);
        return new Profile(name, m);
    }

    /** Reads {@code dir/NAME.properties}; a missing file is an error listing the profiles that exist. */
    public static Profile load(Path dir, String name) throws IOException {
        if (name == null || !name.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("profile name '" + name + "' must be letters, digits, '.', '_' or '-'");
        }
        Path file = dir.resolve(name + ".properties");
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no profile '" + name + "' in " + dir + " (profiles there: " + available(dir) + ")");
        }
        return read(name, file);
    }

    /** Reads a profile from a properties file. */
    public static Profile read(String name, Path file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("no profile file " + file);
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (String k : p.stringPropertyNames()) {
            m.put(k, p.getProperty(k).trim());
        }
        return new Profile(name, m);
    }

    /** Names of the profiles in {@code dir}, comma-separated, for error messages. */
    public static String available(Path dir) {
        try (var s = Files.list(dir)) {
            String names = s.map(f -> f.getFileName().toString()).filter(f -> f.endsWith(".properties"))
                .map(f -> f.substring(0, f.length() - ".properties".length())).sorted()
                .reduce((a, b) -> a + ", " + b).orElse("none");
            return names;
        } catch (IOException e) {
            return "none";
        }
    }
}
