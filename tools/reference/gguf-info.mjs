// Prints what llama.cpp's JavaScript GGUF reader (node-llama-cpp's readGgufFileInfo) sees in a GGUF file,
// as JSON: {version, tensorCount, splicedParts, infoEndOffset, metadata: {flat.key: value}, tensors: [...]}.
// 64-bit integers (BigInt) are printed as decimal strings, negative zero as the string "-0.0". Usage: node gguf-info.mjs FILE
import {readGgufFileInfo} from "node-llama-cpp";

const file = process.argv[2];
if (!file) {
    console.error("usage: node gguf-info.mjs FILE");
    process.exit(2);
}
const info = await readGgufFileInfo(file, {logWarnings: false});

// node-llama-cpp nests metadata by the dots of the keys; flatten it back.
function flatten(obj, prefix, out) {
    for (const [k, v] of Object.entries(obj)) {
        const key = prefix ? prefix + "." + k : k;
        if (v !== null && typeof v === "object" && !Array.isArray(v)) flatten(v, key, out);
        else out[key] = v;
    }
    return out;
}

const json = JSON.stringify({
    version: info.version,
    tensorCount: info.totalTensorCount,
    splicedParts: info.splicedParts,
    infoEndOffset: info.infoEndOffset,
    metadata: flatten(info.metadata, "", {}),
    tensors: (info.fullTensorInfo ?? []).map(t => ({
        name: t.name, dimensions: t.dimensions, ggmlType: t.ggmlType, offset: t.offset,
        fileOffset: t.fileOffset, filePart: t.filePart
    }))
}, (k, v) => typeof v === "bigint" ? v.toString() : Object.is(v, -0) ? "-0.0" : v);
process.stdout.write(json + "\n");
