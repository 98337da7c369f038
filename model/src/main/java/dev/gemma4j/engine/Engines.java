package dev.gemma4j.engine;

import dev.gemma4j.gguf.GgufFile;
import java.util.ServiceLoader;
import java.util.TreeSet;

/** The one engine factory: the profile names the backend, the provider of that backend opens the engine. */
public final class Engines {

    private Engines() {
    }

    /**
     * Opens an engine for {@code profile} over an open GGUF.
     *
     * @throws IllegalArgumentException when no provider of the profile's backend is on the class path (the
     *                                  message says which backends are, and how the launcher adds TornadoVM)
     */
    public static Engine open(GgufFile gguf, EngineOptions options, Profile profile) {
        return provider(profile).open(gguf, options, profile);
    }

    /** The provider for the profile's backend. */
    public static EngineProvider provider(Profile profile) {
        TreeSet<String> seen = new TreeSet<>();
        for (EngineProvider p : ServiceLoader.load(EngineProvider.class, Engines.class.getClassLoader())) {
            if (p.backend().equals(profile.backend())) {
                return p;
            }
            seen.add(p.backend());
        }
        throw new IllegalArgumentException("profile " + profile.name() + " needs the '" + profile.backend()
            + "' backend, which is not on the class path (available: " + String.join(", ", seen)
            + "); start through ./gemma, which adds it for TornadoVM profiles");
    }
}
