#!/usr/bin/env bash
# bench_distributed.sh: data-parallel training on this machine's CPU cores, 2 workers x 1 thread (Gloo) against
# 1 worker x 2 threads, the same global batch, LoRA and full fine-tuning (ZeRO stage 0 and 2). Prints tokens/s
# (num_input_tokens_seen / train_runtime), the per-step time, and what the first worker's log says about its
# collectives: MB sent per step and the milliseconds it waited on them (docs/distributed.md uses these).
#
#   bench/bench_distributed.sh [BUILD_DIR] [OUT_DIR]    (LORA_CONFIG=qwen3-0.6b FULL_CONFIG=demo STEPS=6 SEQ=256)
#
# The models are `lathe new-model` presets with the real Qwen3 tokenizer (tools/fetch_tokenizer.sh), in float32.
set -euo pipefail
here=$(dirname "$0")
build=$(realpath "${1:-$here/../build}")
out=${2:-/tmp/lathe-bench-distributed}
steps=${STEPS:-6}
seq=${SEQ:-256}
lathe="$build/bin/lathe"
source "$here/quiet.sh"
mkdir -p "$out"
tokenizer=$("$here/../tools/fetch_tokenizer.sh" qwen3)

model() { # preset -> folder
    local dir="$out/model-$1"
    [ -f "$dir/config.json" ] || "$lathe" new-model --arch qwen3 --config "$1" --dtype float32 --tokenizer "$tokenizer" \
        --seed 1 --out "$dir" >/dev/null
    echo "$dir"
}

# Alpaca examples of about $seq tokens of generated text (fixed seed), every token learned after the prompt.
mkdir -p "$out/data"
python3 - "$out/data" "$seq" <<'PY'
import json, random, sys
out, seq = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
words = "the of and to in is was for on that with as by at from his her it an are were which this be or has had".split()
words += ["model", "training", "worker", "gradient", "device", "memory", "token", "layer", "batch", "loss"]
rows = [{"instruction": " ".join(rng.choice(words) for _ in range(seq // 8)), "input": "",
         "output": " ".join(rng.choice(words) for _ in range(seq - seq // 8 - 24))} for _ in range(64)]
json.dump(rows, open(f"{out}/text.json", "w"))
json.dump({"text": {"file_name": "text.json"}}, open(f"{out}/dataset_info.json", "w"))
PY
echo '{"zero_optimization": {"stage": 2}}' > "$out/ds_z2.json"

echo "$("$lathe" env | grep -m1 "^- CPU:") ($(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | xargs)); $(nproc) cores; $(QUIET_LOAD=${QUIET_LOAD:-0.5} wait_quiet)"
printf '%-28s %-14s %9s %10s %9s %12s\n' run workers "tok/s" "s/step" "MB/step" "wait ms/step"
run() { # name, workers, model, batch, extra...
    local name=$1 workers=$2 dir=$3 batch=$4; shift 4
    local threads=$((2 / workers)) dest="$out/run-$name-$workers"
    local extra=(per_device_train_batch_size="$batch")
    [ "$workers" -gt 1 ] && extra+=(nproc_per_node="$workers")
    OMP_NUM_THREADS=$threads "$lathe" train model_name_or_path="$dir" stage=sft do_train=true template=qwen3_nothink \
        dataset=text dataset_dir="$out/data" cutoff_len="$seq" output_dir="$dest" overwrite_output_dir=true \
        max_steps="$steps" logging_steps=1 save_steps=100000 gradient_accumulation_steps=1 learning_rate=1e-4 \
        tokenized_path="$out/cache" report_to=none "${extra[@]}" "$@" --threads "$threads" >"$dest.log" 2>&1 \
        || { echo "$name failed: see $dest.log"; tail -5 "$dest.log"; return 1; }
    python3 - "$dest" "$name" "$workers x $threads thr" <<'PY'
import json, re, sys
dest, name, workers = sys.argv[1:]
r = json.load(open(f"{dest}/train_results.json"))
state = json.load(open(f"{dest}/trainer_state.json"))
steps = state["global_step"]
log = open(f"{dest}/running_log.txt").read()
m = re.search(r"Collectives \(\w+\): ([0-9.]+) MB sent per step by this worker, ([0-9.]+) ms per step waiting", log)
mb, wait = (m.group(1), m.group(2)) if m else ("-", "-")
print(f"{name:<28} {workers:<14} {r['num_input_tokens_seen'] / r['train_runtime']:9.1f} {r['train_runtime'] / steps:10.2f} {mb:>9} {wait:>12}")
PY
}
lora=$(model "${LORA_CONFIG:-qwen3-0.6b}")
full=$(model "${FULL_CONFIG:-demo}")
run "lora r8 ${LORA_CONFIG:-qwen3-0.6b}" 1 "$lora" 4 finetuning_type=lora lora_rank=8 lora_target=all
run "lora r8 ${LORA_CONFIG:-qwen3-0.6b}" 2 "$lora" 2 finetuning_type=lora lora_rank=8 lora_target=all
run "full ${FULL_CONFIG:-demo}" 1 "$full" 4 finetuning_type=full
run "full ${FULL_CONFIG:-demo} zero0" 2 "$full" 2 finetuning_type=full
run "full ${FULL_CONFIG:-demo} zero2" 2 "$full" 2 finetuning_type=full deepspeed="$out/ds_z2.json"
