// Tokenizes texts with llama.cpp (node-llama-cpp, vocabulary only) for the tokenizer parity tests:
//   node tokenize.mjs MODEL.gguf CASES.json OUT.json
// CASES.json: {"vocabSize": n, "cases": [{"text": "...", "special": true|false}, ...]} -> OUT.json:
//   {"cases": [{"ids": [...], "detok": "..."}], "eog": [...], "prependBos": bool, "bos": id}
// Ids are llama_tokenize(text, add_special=false, parse_special=special); "detok" is llama.cpp's
// detokenize of those ids with special tokens rendered.
import { readFileSync, writeFileSync } from "node:fs";
import { getLlama } from "node-llama-cpp";

const [modelPath, casesPath, outPath] = process.argv.slice(2);
const llama = await getLlama({ gpu: false, logLevel: "error", build: "never" });
const model = await llama.loadModel({ modelPath, vocabOnly: true });
const input = JSON.parse(readFileSync(casesPath, "utf8"));
const out = input.cases.map(c => {
    const ids = Array.from(model.tokenize(c.text, c.special));
    return { ids, detok: model.detokenize(ids, true) };
});
const eog = [];
for (let id = 0; id < input.vocabSize; id++) {
    if (model.isEogToken(id)) eog.push(id);
}
writeFileSync(outPath, JSON.stringify({
    cases: out, eog, prependBos: model.tokens.shouldPrependBosToken, bos: model.tokens.bos,
}));
await model.dispose();
await llama.dispose();
