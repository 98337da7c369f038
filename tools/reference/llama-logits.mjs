// Runs llama.cpp (node-llama-cpp 3.21.1) on a GGUF for given token ids and prints, as JSON on stdout,
// the last-position next-token log-probabilities and a greedy continuation with llama.cpp's own
// top-two gap at every step. No tokenizer is involved: inputs are token ids.
//
// usage: node llama-logits.mjs request.json     (or the request on stdin)
// request: {"model": "m.gguf", "vocab": 262144, "contextSize": 256, "batchSize": 64, "threads": 2,
//           "kvCacheType": "F32"|"F16", "requests": [{"tokens": [2, 17, ...], "greedy": 32, "top": 0}]}
// answer:  {"results": [{"logprobs": [...all vocab, or the top ones as {id, logprob}...],
//           "greedy": [{"id": 7, "gap": 0.83}, ...]}]}
// Log-probabilities are log(p) with p the softmax of llama.cpp's logits (temperature 1, no truncation),
// so they equal logits minus a per-position constant.
import fs from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const text = process.argv[2] ? fs.readFileSync(process.argv[2], "utf8") : fs.readFileSync(0, "utf8");
const req = JSON.parse(text);
const llama = await getLlama({gpu: false, logLevel: LlamaLogLevel.error, build: "never"});
const model = await llama.loadModel({modelPath: req.model, gpuLayers: 0});
const vocab = req.vocab ?? 0;
const cacheType = req.kvCacheType ?? "F32";
const results = [];
const noTruncation = {temperature: 1, topK: 0, topP: 1, minP: 0, seed: 1};

function logprobsOf(probabilities, top) {
    let n = vocab;
    for (const id of probabilities.keys()) n = Math.max(n, id + 1);
    const all = new Array(n).fill(-Infinity);
    for (const [id, p] of probabilities) all[id] = Math.log(p);
    if (!top) return all.map((v) => (Number.isFinite(v) ? v : -1e30));
    return [...probabilities.entries()].slice(0, top).map(([id, p]) => ({id, logprob: Math.log(p)}));
}

function argmaxAndGap(probabilities) {
    const it = probabilities.entries();
    const first = it.next().value;
    const second = it.next().value;
    return {id: first[0], gap: second ? Math.log(first[1]) - Math.log(second[1]) : Infinity};
}

for (const r of req.requests) {
    const context = await model.createContext({
        contextSize: req.contextSize ?? 512,
        batchSize: req.batchSize ?? 512,
        threads: req.threads ?? 2,
        flashAttention: false,
        experimentalKvCacheKeyType: cacheType,
        experimentalKvCacheValueType: cacheType,
    });
    const seq = context.getSequence();
    const tokens = r.tokens;
    const input = tokens.map((t, i) => (i === tokens.length - 1
        ? [t, {generateNext: {probabilities: true, options: noTruncation}}] : t));
    let out = await seq.controlledEvaluate(input);
    let probs = out[tokens.length - 1].next.probabilities;
    const result = {logprobs: logprobsOf(probs, r.top ?? 0), greedy: []};
    for (let step = 0; step < (r.greedy ?? 0); step++) {
        const next = argmaxAndGap(probs);
        result.greedy.push(next);
        if (step + 1 === r.greedy) break;
        out = await seq.controlledEvaluate([[next.id, {generateNext: {probabilities: true, options: noTruncation}}]]);
        probs = out[0].next.probabilities;
    }
    results.push(result);
    await context.dispose();
}
process.stdout.write(JSON.stringify({results}) + "\n");
await model.dispose();
await llama.dispose();
