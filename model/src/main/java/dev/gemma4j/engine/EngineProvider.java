package dev.gemma4j.engine;

import dev.gemma4j.gguf.GgufFile;

/**
 * A backend that can run Gemma 4, found with {@link java.util.ServiceLoader} (a jar lists its provider in
 * {@code META-INF/services/dev.gemma4j.engine.EngineProvider}), so a backend module on the class path is
 * all it takes: the CPU engine is built in, the TornadoVM one comes with the tornado-tasks jar.
 */
public interface EngineProvider {

    /** The {@code backend} value of the profiles this provider runs ({@code cpu}, {@code tornado}). */
    String backend();

    /** Opens an engine over an open GGUF (which must stay open while the engine is used). */
    Engine open(GgufFile gguf, EngineOptions options, Profile profile);
}
