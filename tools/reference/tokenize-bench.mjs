// llama.cpp's tokenizer throughput on the same texts as TokenizerBenchmark, for comparison:
//   node tokenize-bench.mjs VOCAB.gguf FILE [MIN_BYTES] [ROUNDS]
// The file is repeated (joined by "\n") up to MIN_BYTES (default 1000000); prints tokens/s per round and the median.
import { readFileSync } from "node:fs";
import { getLlama } from "node-llama-cpp";

const [modelPath, file, minBytes = "1000000", rounds = "8"] = process.argv.slice(2);
const llama = await getLlama({ gpu: false, logLevel: "error", build: "never" });
const model = await llama.loadModel({ modelPath, vocabOnly: true });
const piece = readFileSync(file, "utf8");
let text = piece;
while (Buffer.byteLength(text) < Number(minBytes)) text += "\n" + piece;
const rates = [];
for (let r = 0; r < Number(rounds); r++) {
    const t0 = process.hrtime.bigint();
    const n = model.tokenize(text, true).length;
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(n / s);
    console.log(`${n} tokens in ${s.toFixed(3)} s: ${(n / s).toFixed(0)} tokens/s`);
}
rates.sort((a, b) => a - b);
console.log(`median ${rates[Math.floor(rates.length / 2)].toFixed(0)} tokens/s`);
await model.dispose();
await llama.dispose();
