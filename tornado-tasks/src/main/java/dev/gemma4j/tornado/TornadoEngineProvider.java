package dev.gemma4j.tornado;

import dev.gemma4j.engine.Engine;
import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.EngineProvider;
import dev.gemma4j.engine.Profile;
import dev.gemma4j.gguf.GgufFile;

/**
 * The {@code tornado} backend for {@code Engines.open}: profiles with {@code backend=tornado}
 * (opencl, ptx, spirv) open a {@link TornadoEngine} on the profile's {@code device} with its
 * {@code tornado.*} tuning settings.
 */
public final class TornadoEngineProvider implements EngineProvider {
    @Override
    public String backend() {
        return "tornado";
    }

    @Override
    public Engine open(GgufFile gguf, EngineOptions options, Profile profile) {
        return new TornadoEngine(gguf, options, profile.settings(), profile.get(Profile.DEVICE));
    }
}
