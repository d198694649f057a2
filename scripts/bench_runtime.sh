#!/usr/bin/env bash
# Model-runtime and engine figures of docs/benchmarks.md (issues 2 and 4), ours against llama.cpp's llama-bench
# on the same GGUF files, alternating engines line by line so that neither always gets the quieter moment (this
# machine's speed drifts 10-25% within minutes). Prints one line per measurement; asserts nothing.
#   decode from an empty context:  vllm bench forward --prompt-len 1 --decode-len 64    | llama-bench -p 0 -n 64
#   decode at a depth of 2048:     vllm bench forward --prompt-len 2048 --decode-len 64 | llama-bench -d 2048 -p 0 -n 64
#   prefill of 512 tokens:         vllm bench forward --prompt-len 512 --decode-len 1   | llama-bench -p 512 -n 0
#   engine throughput:             vllm bench throughput --input-len 64 --output-len 128 --num-prompts 32 | 1
# Models: the cached default SmolLM2 Q4_1 GGUF and the Qwen2.5-0.5B-shape models of scripts/make_bench_models.py.
# Environment: VLLM_BIN (.build-release/release/vllm), LLAMA_BENCH (built by scripts/bench_llamacpp.sh plus
# `cmake --build build --target llama-bench`), BENCH_MODELS (/work/bench-models), ROUNDS (3).
set -uo pipefail
cd "$(dirname "$0")/.."
V="${VLLM_BIN:-.build-release/release/vllm}"
L="${LLAMA_BENCH:-/work/llamacpp-build/build/bin/llama-bench}"
dir="${BENCH_MODELS:-/work/bench-models}"
rounds="${ROUNDS:-3}"
S="$HOME/.cache/swift-vllm/SmolLM2-135M-Instruct.Q4_1.gguf"
Q8="$dir/qwen2.5-0.5b-Q8_0.gguf"
BF="$dir/qwen2.5-0.5b"
BFG="$dir/qwen2.5-0.5b-BF16.gguf"

# ours MODEL PROMPT_LEN DECODE_LEN p|d: prefill (p) or decode (d) tok/s of batch 1.
ours() { "$V" bench forward --model "$1" --threads 2 --batch 1 --prompt-len "$2" --decode-len "$3" 2>&1 |
    grep "^ *1 " | awk -F'|' -v w="$4" '{gsub(/ /, ""); print (w == "p") ? $4 : $7}'; }
# llama MODEL ARGS...: llama-bench's average tok/s.
llama() { "$L" -m "$1" -t 2 "${@:2}" -r 1 -o csv 2>/dev/null | tail -1 | awk -F, '{gsub(/"/, ""); print $(NF-1)}'; }
# throughput ARGS...: output tok/s of `vllm bench throughput`.
throughput() { "$V" bench throughput "$@" --input-len 64 --output-len 128 --threads 2 2>&1 | grep Throughput |
    sed -E 's/.* ([0-9.]+) output tokens\/s/\1/'; }

echo "== decode from an empty context, tok/s: ours / llama.cpp"
for _ in $(seq "$rounds"); do
    echo "SmolLM2 Q4_1 $(ours "$S" 1 64 d) / $(llama "$S" -p 0 -n 64)"
    echo "Qwen-shape Q8_0 $(ours "$Q8" 1 64 d) / $(llama "$Q8" -p 0 -n 64)"
    echo "Qwen-shape BF16 $(ours "$BF" 1 64 d) / $(llama "$BFG" -p 0 -n 64)"
done
echo "== decode at a depth of 2048, tok/s: ours / llama.cpp"
for _ in $(seq "$rounds"); do
    echo "SmolLM2 Q4_1 $(ours "$S" 2048 64 d) / $(llama "$S" -d 2048 -p 0 -n 64)"
    echo "Qwen-shape Q8_0 $(ours "$Q8" 2048 64 d) / $(llama "$Q8" -d 2048 -p 0 -n 64)"
done
echo "== prefill of 512 tokens, tok/s: ours / llama.cpp"
for _ in $(seq "$rounds"); do
    echo "SmolLM2 Q4_1 $(ours "$S" 512 1 p) / $(llama "$S" -p 512 -n 0)"
    echo "Qwen-shape Q8_0 $(ours "$Q8" 512 1 p) / $(llama "$Q8" -p 512 -n 0)"
    echo "Qwen-shape BF16 $(ours "$BF" 512 1 p) / $(llama "$BFG" -p 512 -n 0)"
done
echo "== engine throughput, output tok/s: 32 concurrent requests / 1 request"
for _ in $(seq "$rounds"); do
    echo "SmolLM2 Q4_1 $(throughput --num-prompts 32) / $(throughput --num-prompts 1)"
    echo "Qwen-shape BF16 $(throughput --model "$BF" --num-prompts 32) / $(throughput --model "$BF" --num-prompts 1)"
done
