package dev.gemma4j.cpu;

import dev.gemma4j.engine.Engine;
import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.EngineProvider;
import dev.gemma4j.engine.Profile;
import dev.gemma4j.gguf.GgufFile;

/** The built-in pure-Java backend, {@code backend=cpu}. */
public final class CpuEngineProvider implements EngineProvider {

    @Override
    public String backend() {
        return "cpu";
    }

    @Override
    public Engine open(GgufFile gguf, EngineOptions options, Profile profile) {
        return new CpuEngine(gguf, options);
    }
}
