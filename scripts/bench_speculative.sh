#!/usr/bin/env bash
# n-gram speculative decoding against none, side by side, alternating: `vllm generate` at batch 1 on
# input-grounded chat prompts (repeat a paragraph; rewrite a code block), greedy, 256 tokens at most.
# Prints "prompt: tok/s without / with (accepted per draft position)" per round; asserts nothing.
# Environment: VLLM_BIN (.build-release/release/vllm), MODEL (the cached default), ROUNDS (3),
# SPEC (the --speculative-config JSON).
set -uo pipefail
cd "$(dirname "$0")/.."
V="${VLLM_BIN:-.build-release/release/vllm}"
M="${MODEL:-$HOME/.cache/swift-vllm/SmolLM2-135M-Instruct.Q4_1.gguf}"
rounds="${ROUNDS:-3}"
spec="${SPEC:-{\"method\": \"ngram\", \"num_speculative_tokens\": 4, \"prompt_lookup_min\": 2, \"prompt_lookup_max\": 4\}}"
work="$(mktemp -d)"
python3 - "$work" <<'PY'
import json, sys
para = ("The quick brown fox jumps over the lazy dog. The dog was not amused, and it barked loudly at the fox. "
        "The fox ran into the forest, where it met a wise old owl. The owl told the fox a story about the moon, "
        "the stars and the river that runs through the valley. The fox listened carefully and then went home to sleep.")
code = ("def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n\n"
        "def main():\n    for i in range(10):\n        print(i, fibonacci(i))\n\nif __name__ == '__main__':\n    main()\n")
prompts = {"repeat": "Repeat the following paragraph exactly, word for word:\n\n" + para,
           "code": "Rewrite this Python code, renaming the function fibonacci to fib:\n\n" + code}
for name, text in prompts.items():
    with open(f"{sys.argv[1]}/{name}.jsonl", "w") as f:
        f.write(json.dumps({"messages": [{"role": "user", "content": text}], "max_tokens": 256, "temperature": 0}) + "\n")
PY
rate() { grep -oE '\(([0-9.]+) tokens/s\)' | tr -d '(' | awk '{print $1}'; }
for _ in $(seq "$rounds"); do
    for name in repeat code; do
        plain=$("$V" generate --model "$M" --threads 2 --input "$work/$name.jsonl" --output "$work/plain.jsonl" 2>&1 | rate)
        fast=$("$V" generate --model "$M" --threads 2 --input "$work/$name.jsonl" --output "$work/spec.jsonl" \
               --speculative-config "$spec" 2>&1 | rate)
        same=$(cmp -s <(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["outputs"][0]["text"])' "$work/plain.jsonl") \
                      <(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["outputs"][0]["text"])' "$work/spec.jsonl") \
               && echo "same text" || echo "TEXT DIFFERS")
        echo "$name: $plain / $fast tok/s ($same)"
    done
done
rm -rf "$work"
