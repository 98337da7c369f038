// Loads GGUF models with llama.cpp (node-llama-cpp 3.21.1, CPU) and generates greedily from a prompt.
// Prints one JSON array with one object per model, in argument order:
//   {"model", "architecture", "train_context", "embedding", "prompt_ids": [...], "ids": [...], "text",
//    "first_step": {"top": [{"id", "p"}...], "entropy", "tokens_with_probability"}}
// first_step is the next-token distribution after the prompt at temperature 1, to judge whether the
// logits are flat, peaked or reasonable. A model that fails to load gives {"model", "error"}.
// Usage: node synth-generate.mjs [--prompt TEXT] [--tokens N] [--context N] [--threads N] MODEL...
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const args = process.argv.slice(2);
let prompt = "The quick brown fox jumps over the lazy dog.";
let nTokens = 16;
let contextSize = 256;
let threads = 2;
const models = [];
for (let i = 0; i < args.length; i++) {
    if (args[i] === "--prompt") prompt = args[++i];
    else if (args[i] === "--tokens") nTokens = parseInt(args[++i], 10);
    else if (args[i] === "--context") contextSize = parseInt(args[++i], 10);
    else if (args[i] === "--threads") threads = parseInt(args[++i], 10);
    else if (args[i].startsWith("--")) {
        console.error("unknown option " + args[i]);
        process.exit(2);
    } else models.push(args[i]);
}
if (models.length === 0) {
    console.error("usage: node synth-generate.mjs [--prompt TEXT] [--tokens N] [--context N] [--threads N] MODEL...");
    process.exit(2);
}

const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});

async function run(modelPath) {
    const model = await llama.loadModel({modelPath, gpuLayers: 0});
    try {
        const input = [model.tokens.bos, ...model.tokenize(prompt, true)];

        // first step: the whole distribution at temperature 1
        const ctx1 = await model.createContext({contextSize, sequences: 1, threads});
        let firstStep = null;
        for await (const out of ctx1.getSequence().evaluateWithMetadata(input, {probabilities: true},
            {temperature: 1, topK: 0, topP: 1, minP: 0, seed: 1})) {
            const probs = [...out.probabilities.entries()].sort((a, b) => b[1] - a[1]);
            let h = 0;
            for (const [, p] of probs) if (p > 0) h -= p * Math.log(p);
            firstStep = {top: probs.slice(0, 5).map(([id, p]) => ({id, p})), entropy: h, tokens_with_probability: probs.length};
            break;
        }
        await ctx1.dispose();

        // greedy generation
        const ctx = await model.createContext({contextSize, sequences: 1, threads});
        const generated = [];
        for await (const token of ctx.getSequence().evaluate(input, {temperature: 0})) {
            generated.push(token);
            if (generated.length >= nTokens) break;
        }
        await ctx.dispose();
        return {
            model: modelPath,
            architecture: model.architecture,
            train_context: model.trainContextSize,
            embedding: model.embeddingVectorSize,
            prompt_ids: input,
            ids: generated,
            text: model.detokenize(generated, true),
            first_step: firstStep,
        };
    } finally {
        await model.dispose();
    }
}

const results = [];
for (const m of models) {
    try {
        results.push(await run(m));
    } catch (e) {
        results.push({model: m, error: String(e && e.message ? e.message : e)});
    }
}
console.log(JSON.stringify(results));
await llama.dispose();
