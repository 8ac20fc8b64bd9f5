#!/usr/bin/env bash
# bench_export.sh: `lathe export` of a model folder to GGUF (F16, Q8_0, Q4_K_M by default) and merged HF
# safetensors, each under /usr/bin/time -v: wall seconds, MB/s of input weights, peak RSS and its ratio to the
# largest input shard (the issue's targets: Q8_0 >= 200 MB/s on 2 threads, peak RSS < 1.5x the largest shard).
#
#   bench/bench_export.sh MODEL_DIR [BUILD_DIR] [OUT_DIR]        (THREADS=2, TYPES="f16 q8_0 q4_k_m", HF=1)
#
# MODEL_DIR: e.g. `lathe new-model --arch qwen3 --config qwen3-0.6b --dtype bf16 --tokenizer ... --out DIR`.
# The page cache is warmed first (one read of the shards), so the figures are the exporter's, not the disk's.
set -euo pipefail
model=$(realpath "${1:?usage: bench_export.sh MODEL_DIR [BUILD_DIR] [OUT_DIR]}")
build=$(realpath "${2:-$(dirname "$0")/../build}")
out=${3:-/tmp/lathe-bench-export}
threads=${THREADS:-2}
types=${TYPES:-f16 q8_0 q4_k_m}
lathe="$build/bin/lathe"
mkdir -p "$out"

input=$(find "$model" -maxdepth 1 -name '*.safetensors' -printf '%s\n' | awk '{ s += $1 } END { print s }')
largest=$(find "$model" -maxdepth 1 -name '*.safetensors' -printf '%s\n' | sort -n | tail -1)
cat "$model"/*.safetensors >/dev/null
echo "model $model: $(awk -v b="$input" 'BEGIN { printf "%.1f MB", b / 1e6 }') of weights," \
     "largest shard $(awk -v b="$largest" 'BEGIN { printf "%.1f MB", b / 1e6 }'), $threads threads, $(nproc) cores"
printf '%-10s %9s %9s %11s %12s %10s\n' format seconds "MB/s in" "out MB" "peak RSS MB" "RSS/shard"

run() { # name, extra key=value...
    local name=$1; shift
    rm -rf "$out/$name"
    /usr/bin/time -v "$lathe" export "model_name_or_path=$model" "export_dir=$out/$name" "$@" --threads "$threads" \
        >"$out/$name.log" 2>&1 || { echo "$name failed, see $out/$name.log"; tail -5 "$out/$name.log"; return 1; }
    local secs rss bytes
    secs=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$out/$name.log")
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$out/$name.log")
    bytes=$(du -sb "$out/$name" | cut -f1)
    awk -v n="$name" -v s="$secs" -v r="$rss" -v b="$bytes" -v inb="$input" -v sh="$largest" \
        'BEGIN { printf "%-10s %9.2f %9.0f %11.1f %12.0f %10.2f\n", n, s, inb / 1e6 / s, b / 1e6, r / 1024, r * 1024 / sh }'
}

for t in $types; do
    run "gguf-$t" export_format=gguf "export_quantization=$t"
done
if [ "${HF:-1}" = 1 ]; then
    run hf-bf16 export_format=hf export_size=1
fi
