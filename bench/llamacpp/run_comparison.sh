#!/usr/bin/env bash
# run_comparison.sh: Lathe's engine against llama.cpp on the same weights, same machine, same thread count.
#
#   bench/llamacpp/run_comparison.sh MODEL_DIR [BUILD_DIR] [OUT_DIR]
#
# Converts MODEL_DIR (HF layout, e.g. from `lathe new-model --config qwen3-0.6b`) to a BF16 GGUF with
# bench_make_gguf, then alternates, ROUNDS times (default 3): llama.cpp via bench_llamacpp.mjs and Lathe via
# bench_model, both with THREADS threads (default 2), a 256-token prompt and 64 decode steps, each under
# /usr/bin/time -v for the peak RSS. Before each program it waits (up to QUIET_WAIT x 5 s) for the 1-minute load
# average to drop below QUIET_LOAD (default 0.7): on a shared 2-core machine a concurrent compile slows either
# engine by several times, so numbers taken under load are marked in the log. Logs and JSON land in OUT_DIR.
# Needs `npm install` in bench/llamacpp (see RESULTS.md).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
model=${1:?usage: run_comparison.sh MODEL_DIR [BUILD_DIR] [OUT_DIR]}
build=${2:-$here/../../build}
out=${3:-$build/llamacpp-bench}
mkdir -p "$out"
model=$(realpath "$model"); build=$(realpath "$build"); out=$(realpath "$out")
rounds=${ROUNDS:-3}
threads=${THREADS:-2}

gguf="$out/$(basename "$model")-bf16.gguf"
if [ ! -f "$gguf" ]; then
    "$build/bin/bench_make_gguf" --model "$model" --out "$gguf" --outtype bf16 --quiet
fi

QUIET_WAIT=${QUIET_WAIT:-120}
# shellcheck source=bench/quiet.sh
. "$(dirname "$0")/../quiet.sh"

for round in $(seq 1 "$rounds"); do
    echo "== round $round: llama.cpp $(wait_quiet)" | tee -a "$out/log.txt"
    (cd "$here" && /usr/bin/time -v node bench_llamacpp.mjs --model "$gguf" --threads "$threads" --runs 3 \
        --json "$out/llamacpp-$round.json") >"$out/llamacpp-$round.txt" 2>&1
    grep -E "RESULT|Maximum resident" "$out/llamacpp-$round.txt" | tee -a "$out/log.txt"
    if [ -x "$build/bin/bench_model" ]; then
        echo "== round $round: lathe $(wait_quiet)" | tee -a "$out/log.txt"
        /usr/bin/time -v "$build/bin/bench_model" --model "$model" --threads "$threads" --runs 3 \
            >"$out/lathe-$round.txt" 2>&1
        grep -E "RESULT|Maximum resident" "$out/lathe-$round.txt" | tee -a "$out/log.txt"
    fi
done
