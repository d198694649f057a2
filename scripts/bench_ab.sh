#!/usr/bin/env bash
# Two vllm binaries side by side on the cached default model (SmolLM2 Q4_1), alternating line by line so
# neither always gets the quieter moment: batch-1 decode, decode at 2048 tokens of context, 512-token
# prefill (`vllm bench forward`, as scripts/bench_runtime.sh runs it) and 32-request engine throughput.
# Usage: scripts/bench_ab.sh BASELINE_BIN CANDIDATE_BIN [ROUNDS]. Prints one line per measurement.
set -uo pipefail
A="$1"; B="$2"; rounds="${3:-3}"
S="${MODEL:-$HOME/.cache/swift-vllm/SmolLM2-135M-Instruct.Q4_1.gguf}"
forward() { "$1" bench forward --model "$S" --threads 2 --batch 1 --prompt-len "$2" --decode-len "$3" 2>&1 |
    grep "^ *1 " | awk -F'|' -v w="$4" '{gsub(/ /, ""); print (w == "p") ? $4 : $7}'; }
throughput() { "$1" bench throughput --model "$S" --input-len 64 --output-len 128 --num-prompts 32 --threads 2 2>&1 |
    grep Throughput | sed -E 's/.* ([0-9.]+) output tokens\/s/\1/'; }
for _ in $(seq "$rounds"); do
    echo "decode batch 1, tok/s:        $(forward "$A" 1 64 d) / $(forward "$B" 1 64 d)"
    echo "decode at 2048, tok/s:        $(forward "$A" 2048 64 d) / $(forward "$B" 2048 64 d)"
    echo "prefill 512, tok/s:           $(forward "$A" 512 1 p) / $(forward "$B" 512 1 p)"
    echo "32 requests, output tok/s:    $(throughput "$A") / $(throughput "$B")"
done
