#!/usr/bin/env python3
"""Reference token ids for ill-formed UTF-8 input, from llama.cpp's llama-tokenize (native build).

node-llama-cpp only takes JavaScript strings, so byte-level cases need the native tool. Usage:
  tools/tokenizer/invalid-utf8-reference.py LLAMA_TOKENIZE VOCAB.gguf OUT.json
VOCAB.gguf is the test vocabulary the Java tests write to model/target/tokenizer-parity/gemma4-test-vocab.gguf
(run Gemma4TokenizerParityTest once). OUT.json is checked in as
model/src/test/resources/tokenizer/invalid-utf8-llama-tokenize.json and read by Gemma4InvalidUtf8ParityTest.
Ids are llama_tokenize(bytes, add_special=false, parse_special) for parse_special on and off.
Bytes that decode above U+10FFFF (F4 90.., F5..F7 leads) are left out: llama.cpp throws on them.
"""
import json
import subprocess
import sys
import tempfile

CASES = [
    "61ff62", "ff", "80", "bf", "c0", "c1", "f5", "f8", "fe", "ff fe 48 00 69 00", "c0 80", "c1 bf", "e0 80 80",
    "f0 80 80 80", "ed a0 80", "ed b0 80", "ed a0 bd ed b8 80", "f0 9f 98", "f0 9f 98 41", "f0 9f", "e2 82", "e2 82 41",
    "e2 82 ac", "c3", "c3 28", "a0 a1", "e2 28 a1", "e2 82 28", "f0 28 8c bc", "f0 90 28 bc", "f0 28 8c 28",
    "f8 88 80 80 80", "fc 84 80 80 80 80", "20 ff 20", "20 20 c3", "0a 0a ff 0a", "0a ff 0a 0a 0a",
    "3c 74 75 72 6e 7c 3e ff", "ff 3c 7c 22 7c 3e ff", "3c 7c 22 ff 7c 3e", "3c 74 75 72 6e 7c ff 3e",
    "48 65 6c 6c 6f 20 e4 b8 96 e7 95 8c", "48 65 6c 6c 6f 20 e4 b8 96 e7 95", "e4 b8 96 e7", "41 42 43 80 80 80 44",
    "f0 9f a6 99 f0 9f a6", "e6 97 a5 e6 9c ac e8 aa 9e ff e6 97 a5", "d8 b3 d9 84 d8 a7 d9 85 d8", "09 ff 09 09",
    "00", "00 ff 00", "ef bb bf 61", "ef bf bd", "ef bf be ef bf bf",
]


def tokenize(binary, model, data, special):
    with tempfile.NamedTemporaryFile(suffix=".txt") as f:
        f.write(data)
        f.flush()
        cmd = [binary, "-m", model, "-f", f.name, "--ids", "--no-bos", "--log-disable", "--no-escape",
               "--parse-special" if special else "--no-parse-special"]
        out = subprocess.run(cmd, check=True, capture_output=True).stdout.decode()
    line = [l for l in out.splitlines() if l.startswith("[")][-1]
    return json.loads(line)


def main():
    binary, model, out = sys.argv[1:4]
    result = []
    for hexstr in CASES:
        data = bytes.fromhex(hexstr)
        for special in (True, False):
            result.append({"hex": data.hex(), "special": special, "ids": tokenize(binary, model, data, special)})
    with open(out, "w") as f:
        json.dump({"generator": "tools/tokenizer/invalid-utf8-reference.py", "llama.cpp": "80fb11a llama-tokenize",
                   "cases": result}, f, indent=0)


if __name__ == "__main__":
    main()
