// Loads a GGUF with llama.cpp (node-llama-cpp 3.21.1, CPU) and generates greedily from a prompt.
// Prints one JSON object: {"architecture", "train_context", "embedding", "prompt_ids": [...], "ids": [...], "text": "...",
//   "first_step": {"top": [{"id", "p"}...], "entropy": H}}   (first_step: the next-token distribution
// after the prompt at temperature 1, to judge whether logits are flat, peaked or reasonable).
// Usage: node synth-generate.mjs MODEL [--prompt TEXT] [--tokens N] [--context N]
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const args = process.argv.slice(2);
if (args.length < 1) {
    console.error("usage: node synth-generate.mjs MODEL [--prompt TEXT] [--tokens N] [--context N]");
    process.exit(2);
}
const modelPath = args[0];
let prompt = "The quick brown fox jumps over the lazy dog.";
let nTokens = 16;
let contextSize = 256;
for (let i = 1; i < args.length; i++) {
    if (args[i] === "--prompt") prompt = args[++i];
    else if (args[i] === "--tokens") nTokens = parseInt(args[++i], 10);
    else if (args[i] === "--context") contextSize = parseInt(args[++i], 10);
    else {
        console.error("unknown argument " + args[i]);
        process.exit(2);
    }
}

const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const promptIds = model.tokenize(prompt, true);
const ids = [promptIds.length > 0 && promptIds[0] === model.tokens.bos ? null : model.tokens.bos].filter((t) => t != null);
const input = [...ids, ...promptIds];

// first step: full distribution at temperature 1
const ctx1 = await model.createContext({contextSize, sequences: 1, threads: 2});
const seq1 = ctx1.getSequence();
let firstStep = null;
for await (const out of seq1.evaluateWithMetadata(input, {probabilities: true}, {temperature: 1, topK: 0, topP: 1, minP: 0, seed: 1})) {
    const probs = [...out.probabilities.entries()].sort((a, b) => b[1] - a[1]);
    let h = 0;
    for (const [, p] of probs) if (p > 0) h -= p * Math.log(p);
    firstStep = {top: probs.slice(0, 5).map(([id, p]) => ({id, p})), entropy: h, tokens_with_probability: probs.length};
    break;
}
await ctx1.dispose();

// greedy generation
const ctx = await model.createContext({contextSize, sequences: 1, threads: 2});
const seq = ctx.getSequence();
const generated = [];
for await (const token of seq.evaluate(input, {temperature: 0})) {
    generated.push(token);
    if (generated.length >= nTokens) break;
}
await ctx.dispose();

console.log(JSON.stringify({
    architecture: model.architecture,
    train_context: model.trainContextSize,
    embedding: model.embeddingVectorSize,
    prompt_ids: input,
    ids: generated,
    text: model.detokenize(generated, true),
    first_step: firstStep,
}));
await model.dispose();
await llama.dispose();
