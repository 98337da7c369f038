// Records which ggml type llama-quantize gives each tensor of synthetic gemma4 models, as a fixture for
// SynthQuantMixTest (model/src/test/resources/dev/gemma4j/synth/llama-quantize-mix.json).
// For each case: `./gemma synth ... --type F32`, then `llama-quantize IN OUT TYPE` for each mix, then the
// tensor types of OUT read with node-llama-cpp's GGUF reader.
// Needs a native llama-quantize built from the same llama.cpp source as node-llama-cpp 3.21.1 (80fb11a).
// Usage (from the repo root): node tools/reference/synth-quant-mix.mjs LLAMA_QUANTIZE OUT_JSON [WORKDIR]
import {execFileSync} from "node:child_process";
import {mkdtempSync, rmSync, writeFileSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {readGgufFileInfo} from "node-llama-cpp";

const [quantize, outJson, workArg] = process.argv.slice(2);
if (!quantize || !outJson) {
    console.error("usage: node synth-quant-mix.mjs LLAMA_QUANTIZE OUT_JSON [WORKDIR]");
    process.exit(2);
}
const work = workArg ?? mkdtempSync(join(tmpdir(), "synth-mix-"));

// Shapes small enough to quantize in seconds, with rows of 256 (K-quants apply) and of 96/64 (32-block
// fallbacks), ten layers (so llama-quantize's "more bits" layers are 0, 3, 6, 8, 9) and the variants
// whose rules differ: 8 experts (Mixtral rules), untied output, dense, split experts.
const base = ["--preset", "tiny", "--layers", "10", "--layer-pattern", "SSSSSF", "--vocab", "1024",
    "--dense-width", "96", "--expert-width", "64"];
const cases = {
    "moe16": [...base, "--experts", "16", "--experts-per-token", "4"],
    "moe8": [...base, "--experts", "8", "--experts-per-token", "2"],
    "untied-split": [...base, "--experts", "16", "--experts-per-token", "4", "--untied-output", "--split-experts"],
    "dense": [...base, "--dense"],
    "width-128": [...base, "--width", "128", "--experts", "16", "--experts-per-token", "4"],
};
const types = ["Q4_K_M", "Q6_K", "MXFP4_MOE", "Q8_0"];

const result = {generated_by: "tools/reference/synth-quant-mix.mjs with llama-quantize from llama.cpp 80fb11a", cases: {}};
for (const [name, args] of Object.entries(cases)) {
    const f32 = join(work, `${name}-F32.gguf`);
    execFileSync("./gemma", ["synth", ...args, "--type", "F32", "--seed", "1", "--out", f32], {stdio: ["ignore", "ignore", "inherit"]});
    result.cases[name] = {args, tensors: null, types: {}};
    for (const t of types) {
        const q = join(work, `${name}-${t}.gguf`);
        execFileSync(quantize, [f32, q, t, "2"], {stdio: ["ignore", "ignore", "ignore"]});
        const info = await readGgufFileInfo(q, {readTensorInfo: true, logWarnings: false, ignoreKeys: ["tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"]});
        const tensors = info.fullTensorInfo ?? info.tensorInfo;
        result.cases[name].tensors ??= tensors.map((ti) => ti.name);
        const byName = new Map(tensors.map((ti) => [ti.name, ti.ggmlType]));
        result.cases[name].types[t] = result.cases[name].tensors.map((n) => byName.get(n));
        rmSync(q);
    }
    rmSync(f32);
}
// compact, one case per line
writeFileSync(outJson, JSON.stringify(result).replace('"cases":{', '"cases":{\n').replaceAll('},"', '},\n"') + "\n");
console.error(`wrote ${outJson}`);
