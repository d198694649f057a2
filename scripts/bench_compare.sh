#!/usr/bin/env bash
# Side-by-side serving benchmark: swift-vllm (`vllm serve`) against llama.cpp's llama-server, same models,
# same client (`vllm bench serve`: random 64-token prompts, 128 output tokens, ignore_eos, greedy), at
# concurrency 1, 8 and 32. Servers run one at a time and alternate order from row to row so that neither
# always gets the quieter moment. Also measures memory bandwidth, which bounds CPU decode speed.
#
# Usage: scripts/bench_compare.sh [MODEL ...]
#   MODEL: a .gguf file (both servers) or a Hugging Face folder (ours only; llama.cpp is given the .gguf named
#   by LLAMA_MODEL_FOR_<basename> or skipped). Default: the cached SmolLM2 Q4_1 GGUF, then
#   /work/bench-models/qwen2.5-0.5b-Q8_0.gguf and /work/bench-models/qwen2.5-0.5b (BF16 HF folder; llama.cpp
#   gets /work/bench-models/qwen2.5-0.5b-BF16.gguf when it exists).
# Environment: VLLM_BIN (default: .build-release/release/vllm, built when missing), LLAMA_SERVER (default:
#   built by scripts/bench_llamacpp.sh), CONCURRENCIES ("1 8 32"), INPUT_LEN (64), OUTPUT_LEN (128),
#   PROMPTS_PER_CONCURRENCY (2: num-prompts = 2 x concurrency), THREADS (2), OUT (/work/bench-results/compare.md; keep results out of the repo).
# Results: a markdown table on stdout and in $OUT; raw JSON per run beside it.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
concurrencies="${CONCURRENCIES:-1 8 32}"
input_len="${INPUT_LEN:-64}"
output_len="${OUTPUT_LEN:-128}"
per_concurrency="${PROMPTS_PER_CONCURRENCY:-2}"
threads="${THREADS:-2}"
out="${OUT:-/work/bench-results/compare.md}"
results_dir=$(dirname "$out")/runs
mkdir -p "$results_dir"
port=18431

if [ $# -gt 0 ]; then
    models=("$@")
else
    models=("${VLLM_CACHE_DIR:-$HOME/.cache/swift-vllm}/SmolLM2-135M-Instruct.Q4_1.gguf"
            /work/bench-models/qwen2.5-0.5b-Q8_0.gguf /work/bench-models/qwen2.5-0.5b)
fi

vllm="${VLLM_BIN:-$repo/.build-release/release/vllm}"
if [ ! -x "$vllm" ]; then
    echo "building vllm (release) into .build-release ..." >&2
    swift build -c release --product vllm --scratch-path .build-release >&2 || { echo "vllm build failed" >&2; exit 1; }
fi
llama="${LLAMA_SERVER:-}"
if [ -z "$llama" ]; then
    llama=$("$repo/scripts/bench_llamacpp.sh" | tail -n1) || { echo "llama-server build failed" >&2; exit 1; }
fi

# Memory bandwidth now (other processes share the machine): one-thread read and copy, best of 5.
membw() {
    local dir
    dir=$(mktemp -d)
    cat > "$dir/membw.c" <<'CEOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
/* Wall time says what the machine gives now; CPU time says what a dedicated core would get. */
static double clock_of(clockid_t id) { struct timespec t; clock_gettime(id, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(void) {
    size_t n = (size_t)256 << 20, count = n / sizeof(double);
    double *a = malloc(n), *b = malloc(n);
    if (!a || !b) return 1;
    memset(a, 1, n); memset(b, 2, n);
    double best[2][2] = {{0, 0}, {0, 0}}, sink = 0;
    clockid_t clocks[2] = {CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID};
    for (int rep = 0; rep < 5; rep++) {
        double t0[2], t1[2], t2[2], s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int c = 0; c < 2; c++) t0[c] = clock_of(clocks[c]);
        for (size_t i = 0; i < count; i += 4) { s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3]; }
        for (int c = 0; c < 2; c++) t1[c] = clock_of(clocks[c]);
        memcpy(b, a, n);
        for (int c = 0; c < 2; c++) t2[c] = clock_of(clocks[c]);
        sink += s0 + s1 + s2 + s3 + b[rep];
        for (int c = 0; c < 2; c++) {
            if (n / (t1[c] - t0[c]) > best[c][0]) best[c][0] = n / (t1[c] - t0[c]);
            if (2.0 * n / (t2[c] - t1[c]) > best[c][1]) best[c][1] = 2.0 * n / (t2[c] - t1[c]);
        }
    }
    printf("1 thread, 256 MiB, best of 5: read %.1f GB/s, copy %.1f GB/s (wall); read %.1f GB/s, copy %.1f GB/s "
           "(per CPU-second)%s\n", best[0][0] / 1e9, best[0][1] / 1e9, best[1][0] / 1e9, best[1][1] / 1e9,
           sink == 0.5 ? " " : "");
    return 0;
}
CEOF
    cc -O2 -march=native -o "$dir/membw" "$dir/membw.c" && "$dir/membw"
    rm -rf "$dir"
}

wait_ready() {  # pid, url
    for _ in $(seq 1 600); do
        kill -0 "$1" 2>/dev/null || return 1
        curl -sf "$2/health" >/dev/null 2>&1 && curl -sf "$2/v1/models" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    return 1
}

stop_server() {
    kill "$1" 2>/dev/null
    for _ in $(seq 1 40); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.25; done
    kill -9 "$1" 2>/dev/null
}

# One benchmark run: server kind, model path, concurrency -> JSON result path (empty on failure).
run_one() {
    local kind=$1 model=$2 concurrency=$3 tag json log pid
    tag="$(basename "$model" .gguf)-$kind-c$concurrency"
    json="$results_dir/$tag.json"
    log="$results_dir/$tag.server.log"
    rm -f "$json"
    local url="http://127.0.0.1:$port"
    local slots=$(( concurrency > 1 ? concurrency : 1 ))
    if [ "$kind" = ours ]; then
        "$vllm" serve "$model" --host 127.0.0.1 --port "$port" --threads "$threads" --max-num-seqs "$slots" \
            --max-model-len $(( input_len + output_len + 64 )) --disable-log-requests > "$log" 2>&1 &
    else
        "$llama" -m "$model" --host 127.0.0.1 --port "$port" -t "$threads" -np "$slots" \
            -c $(( slots * (input_len + output_len + 64) )) > "$log" 2>&1 &
    fi
    pid=$!
    if ! wait_ready "$pid" "$url"; then
        echo "  $kind server did not start for $model (see $log)" >&2
        stop_server "$pid"
        return
    fi
    "$vllm" bench serve --base-url "$url" --tokenizer "$tokenizer" --dataset-name random \
        --random-input-len "$input_len" --random-output-len "$output_len" --ignore-eos \
        --num-prompts $(( concurrency * per_concurrency )) --max-concurrency "$concurrency" \
        --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,99 \
        --save-result --result-filename "$json" >> "$results_dir/$tag.bench.log" 2>&1 \
        || echo "  bench failed: $results_dir/$tag.bench.log" >&2
    stop_server "$pid"
}

bandwidth=$(membw)
echo "Memory bandwidth: $bandwidth" >&2
rows=()
row_index=0
for model in "${models[@]}"; do
    if [ ! -e "$model" ]; then echo "skipping missing model $model" >&2; continue; fi
    tokenizer="$model"
    llama_model="$model"
    if [ -d "$model" ]; then
        llama_model="${model%/}-BF16.gguf"
        [ -e "$llama_model" ] || llama_model=""
    fi
    for concurrency in $concurrencies; do
        order="ours llama"
        [ $(( row_index % 2 )) -eq 1 ] && order="llama ours"
        row_index=$(( row_index + 1 ))
        for kind in $order; do
            echo "== $(basename "$model") c=$concurrency $kind" >&2
            if [ "$kind" = ours ]; then run_one ours "$model" "$concurrency"
            elif [ -n "$llama_model" ]; then run_one llama "$llama_model" "$concurrency"
            fi
        done
        rows+=("$model|$llama_model|$concurrency")
    done
done

python3 - "$results_dir" "$out" "$bandwidth" "$input_len" "$output_len" "$threads" "${rows[@]}" <<'PYEOF'
import json, os, sys, datetime
results_dir, out, bandwidth, input_len, output_len, threads = sys.argv[1:7]
def load(model, kind, c):
    if not model:
        return None
    path = os.path.join(results_dir, f"{os.path.basename(model).removesuffix('.gguf')}-{kind}-c{c}.json")
    try:
        with open(path) as f:
            return json.load(f)
    except OSError:
        return None
def fmt(r, key, digits=1):
    return "n/a" if r is None or key not in r else f"{r[key]:.{digits}f}"
lines = [f"# swift-vllm vs llama.cpp llama-server ({datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC)", "",
         f"Random prompts of {input_len} tokens, {output_len} output tokens (ignore_eos), greedy, "
         f"num-prompts = 2 x concurrency, {threads} threads per server, servers run one at a time.",
         f"Memory bandwidth at the time: {bandwidth}.", "",
         "| model | c | ours out tok/s | llama.cpp out tok/s | ratio | ours TTFT ms (mean) | llama.cpp TTFT ms "
         "| ours TTFT ms (median) | llama.cpp TTFT ms (median) | TTFT ratio (median) "
         "| ours TPOT ms (mean) | llama.cpp TPOT ms | ours ITL p99 ms | llama.cpp ITL p99 ms |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
for row in sys.argv[7:]:
    model, llama_model, c = row.split("|")
    ours, theirs = load(model, "ours", c), load(llama_model, "llama", c)
    ratio = "n/a"
    if ours and theirs and theirs.get("output_throughput"):
        ratio = f"{ours['output_throughput'] / theirs['output_throughput']:.2f}x"
    ttft_ratio = "n/a"
    if ours and theirs and theirs.get("median_ttft_ms"):
        ttft_ratio = f"{ours['median_ttft_ms'] / theirs['median_ttft_ms']:.2f}x"
    name = os.path.basename(model.rstrip("/")) + (" (BF16)" if os.path.isdir(model) else "")
    lines.append(f"| {name} | {c} | {fmt(ours, 'output_throughput')} | {fmt(theirs, 'output_throughput')} | {ratio} "
                 f"| {fmt(ours, 'mean_ttft_ms')} | {fmt(theirs, 'mean_ttft_ms')} "
                 f"| {fmt(ours, 'median_ttft_ms')} | {fmt(theirs, 'median_ttft_ms')} | {ttft_ratio} | {fmt(ours, 'mean_tpot_ms', 2)} "
                 f"| {fmt(theirs, 'mean_tpot_ms', 2)} | {fmt(ours, 'p99_itl_ms', 2)} | {fmt(theirs, 'p99_itl_ms', 2)} |")
lines += ["", "ratio = ours / llama.cpp output token throughput (higher is better for swift-vllm); "
          "TTFT ratio = ours / llama.cpp median TTFT (lower is better)."]
text = "\n".join(lines) + "\n"
with open(out, "w") as f:
    f.write(text)
print(text)
PYEOF
