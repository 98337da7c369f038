package dev.gemma4j.server;

import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.Engines;
import dev.gemma4j.engine.KvCacheType;
import dev.gemma4j.engine.Profile;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.synth.SynthConfig;
import dev.gemma4j.synth.SynthModel;
import dev.gemma4j.synth.SynthType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The tiny synth model the server tests run ({@code gemma synth --preset tiny --type Q4_K_M --seed 1}): quantized, so
 * that batch invariance is tested where the kernels differ by batch size.
 */
final class TestModels {
    private static Path tiny;

    private TestModels() {
    }

    static synchronized Path tiny() {
        if (tiny == null) {
            try {
                Path dir = Files.createTempDirectory("gemma-serve-test");
                dir.toFile().deleteOnExit();
                Path p = dir.resolve("tiny.gguf");
                SynthModel.write(SynthModel.plan(SynthConfig.preset("tiny"), SynthType.parse("Q4_K_M"), 1), p, 2);
                p.toFile().deleteOnExit();
                tiny = p;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return tiny;
    }

    /** A started server over the tiny model with {@code ctx} tokens per slot and 2 engine threads. */
    static GemmaServer start(ServerOptions options, int ctx) {
        return start(options, ctx, EngineOptions.DEFAULT_PREFILL_CHUNK);
    }

    /** The same with engine batches of {@code chunk} rows (which sets the sliding layers' ring length). */
    static GemmaServer start(ServerOptions options, int ctx, int chunk) {
        GemmaServer server = GemmaServer.start(options);
        try {
            server.load(() -> {
                try {
                    GgufFile gguf = GgufFile.open(tiny());
                    EngineOptions eo = new EngineOptions(ctx, KvCacheType.F32, 2, chunk, true);
                    return new ModelHost(gguf, Engines.open(gguf, eo, Profile.cpu()), options.aliases(), "cpu");
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
        return server;
    }

    static List<String> none() {
        return List.of();
    }
}
