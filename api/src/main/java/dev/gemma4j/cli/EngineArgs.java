package dev.gemma4j.cli;

import dev.gemma4j.engine.Engine;
import dev.gemma4j.engine.EngineOptions;
import dev.gemma4j.engine.Engines;
import dev.gemma4j.engine.KvCacheType;
import dev.gemma4j.engine.Profile;
import dev.gemma4j.gguf.GgufFile;
import dev.gemma4j.model.Gemma4Config;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The model and engine options every command that runs the model shares (generate, logits, bench, chat,
 * serve): which file, which backend profile and device, and how the engine is sized. The engine always
 * comes from {@link Engines#open}, so every command runs on whichever backend the profile names.
 */
final class EngineArgs {
    @Option(names = {"-m", "--model"}, required = true, paramLabel = "MODEL",
        description = {"GGUF model file (any shard of a split model), or a model name [hf:]OWNER/REPO[@REVISION][:TAG|:FILE]",
            "taken from the cache, or pulled from the hub on first use (see gemma pull)."})
    String model;

    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    private Path resolved;

    @Option(names = "--profile", paramLabel = "NAME", defaultValue = "cpu",
        description = "Backend profile: a file profiles/NAME.properties (cpu, opencl, ptx, spirv; default: ${DEFAULT-VALUE}).")
    String profile;

    @Option(names = "--device", paramLabel = "B:D",
        description = "Device for TornadoVM profiles, backend:device as `tornado --devices` numbers them (default: the profile's).")
    String device;

    @Option(names = "--profiles-dir", paramLabel = "DIR", hidden = true, defaultValue = "${env:GEMMA_PROFILES}",
        description = "Where the profile files are (the launcher sets GEMMA_PROFILES to its profiles/ folder).")
    Path profilesDir;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Worker threads of the CPU engine (default: all processors).")
    Integer threads;

    @Option(names = {"-c", "--ctx-size", "--ctx"}, paramLabel = "N",
        description = "Context length of a session (default: what the prompt and --max-tokens need, at least 4096, at most the model's).")
    Integer contextLength;

    @Option(names = "--kv-cache", paramLabel = "f32|f16", defaultValue = "f32", description = "KV cache element type (default: ${DEFAULT-VALUE}).")
    String kvCache;

    @Option(names = {"-b", "--batch"}, paramLabel = "N", description = "Prompt tokens evaluated together (default: 128).")
    Integer batch;

    @Option(names = "--batch-invariant", negatable = true,
        description = "Compute every row the same way whatever shares its batch (reproducible greedy output under load; `serve` turns it on, others default off).")
    Boolean batchInvariant;

    // fallbackValue: picocli gives --no-mmap the negation of it; without it --no-mmap left the value true
    @Option(names = "--mmap", negatable = true, defaultValue = "true", fallbackValue = "true",
        description = "Read the weights where the model file is memory-mapped (default). --no-mmap copies them into the "
            + "process's memory when the engine opens (as llama.cpp's --no-mmap): slower start, the whole model resident while it "
            + "runs. CPU engine only.")
    boolean mmap;

    /**
     * The GGUF file {@code --model} names: the path as given when it exists, else the cached model of
     * that name, else the model pulled from the hub now (progress on stderr, so stdout stays the result).
     */
    Path modelPath() throws IOException {
        if (resolved == null) {
            // the settings of the Main this command runs under; a command run on its own gets the process's
            Main main = mixee.root().userObject() instanceof Main m ? m : new Main();
            resolved = main.resolver().resolve(model, main.progress(mixee.commandLine().getErr()));
        }
        return resolved;
    }

    /** Engine options for a model whose sessions need {@code needed} tokens. */
    EngineOptions options(Gemma4Config cfg, int needed) {
        int ctx;
        if (contextLength != null) {
            if (contextLength < 1) {
                throw new BadInputException("--ctx-size must be at least 1");
            }
            ctx = contextLength;
        } else {
            ctx = Math.min(cfg.trainedContext(), Math.max(EngineOptions.DEFAULT_CONTEXT, needed));
        }
        int th = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        if (th < 1) {
            throw new BadInputException("--threads must be at least 1");
        }
        KvCacheType kv = switch (kvCache.toLowerCase(java.util.Locale.ROOT)) {
            case "f32" -> KvCacheType.F32;
            case "f16" -> KvCacheType.F16;
            default -> throw new BadInputException("--kv-cache must be f32 or f16, got '" + kvCache + "'");
        };
        int b = batch != null ? batch : EngineOptions.DEFAULT_PREFILL_CHUNK;
        if (b < 1) {
            throw new BadInputException("--batch must be at least 1");
        }
        return new EngineOptions(ctx, kv, th, b, batchInvariant != null && batchInvariant, mmap);
    }

    /** The named profile with {@code --device} applied; {@code cpu} works without any profile files. */
    Profile profile() throws IOException {
        Profile p;
        if (profilesDir != null && Files.isDirectory(profilesDir)) {
            p = Profile.load(profilesDir, profile);
        } else if ("cpu".equals(profile)) {
            p = Profile.cpu();
        } else {
            throw new BadInputException("profile '" + profile + "' needs the profiles/ folder: start through ./gemma"
                + (profilesDir != null ? " (" + profilesDir + " is not a folder)" : ""));
        }
        if (device != null) {
            if (!device.matches("\\d+:\\d+")) {
                throw new BadInputException("--device must be BACKEND:DEVICE numbers such as 0:0, got '" + device + "'");
            }
            p = p.with(Profile.DEVICE, device);
        }
        return p;
    }

    /** Opens the engine of the chosen profile over an open GGUF. */
    Engine open(GgufFile gguf, EngineOptions options) throws IOException {
        return Engines.open(gguf, options, profile());
    }
}
