#!/usr/bin/env bash
# Issue 22's figures in one run: the probe's choice, training against the plain-libtorch reference with
# checkpointing on and off, every path forced the other way (the probe must have picked the faster), prefill and
# decode against the reference and the read bandwidth, and training and decode with a second process busy.
#
#   bench/bench_kernels.sh MODEL TOKENIZER [BUILD=build] > log
#
# MODEL: `lathe new-model --arch qwen3 --config qwen3-0.6b --dtype bf16 --out MODEL`.
set -uo pipefail
cd "$(dirname "$0")/.."
model=$1 tokenizer=$2 build=${3:-build}
source bench/quiet.sh
train() { "$build/bin/bench_train" --model "$model" --tokenizer "$tokenizer" --batch 1 --seq 256 --steps 8 --threads 2 "$@" |
          grep -E "CPU|bf16 kernels|tokens/s|reference|Lathe /|peak RSS"; }
echo "== $(date -u) $(uptime)"
"$build/bin/lathe" env --probe 2>/dev/null | grep -E "CPU|bf16 kernels|matmul"
# Three (reference, Lathe) pairs per setting: this kind of VM drifts by 10-20% within minutes, so report the
# median ratio.
for pair in 1 2 3; do
  for ckpt in true false; do
    echo "== training, checkpointing $ckpt, paths as probed, pair $pair ($(wait_quiet))"
    train --ckpt "$ckpt"
  done
done
# The fused ops (kernels/inference_ops.h) against libtorch's op chains, and the thin LoRA kernels against PEFT's
# float32 copies on the BLAS (kernels/thin_products.h), alternating step by step in one run.
for alternate in fused lora; do
  for ckpt in true false; do
    echo "== training, checkpointing $ckpt, alternating $alternate paths step by step ($(wait_quiet))"
    "$build/bin/bench_train" --model "$model" --tokenizer "$tokenizer" --batch 1 --seq 256 --steps 22 --threads 2 \
      --ckpt "$ckpt" --reference false --alternate "$alternate" | grep -E "alternating|peak RSS"
  done
done
echo "== training, checkpointing true, every path forced the other way ($(wait_quiet))"
LATHE_KERNELS=gemm=widened,grad_input=widened,lm_head=widened,attention=widened,lora=blas train --ckpt true --reference false
for forced in lm_head=widened attention=widened lora=blas lora=lathe; do
  echo "== training, checkpointing true, $forced ($(wait_quiet))"
  LATHE_KERNELS=$forced train --ckpt true --reference false
done
echo "== reference alone, checkpointing true (its peak RSS) ($(wait_quiet))"
"$build/bin/bench_train" --model "$model" --batch 1 --seq 256 --steps 8 --threads 2 --ckpt true --reference only | grep -E "reference"
echo "== prefill and decode ($(wait_quiet))"
"$build/bin/bench_model" --model "$model" --threads 2 --prompt 256 --decode 64 --runs 5 --unfused true | grep -E "RESULT|bf16 kernels"
echo "== decode after a short prompt ($(wait_quiet))"
"$build/bin/bench_model" --model "$model" --threads 2 --prompt 8 --decode 128 --runs 5 --unfused true --reference false | grep -E "RESULT (decode|read|with)"
echo "== with a second process busy on one core"
( while :; do :; done ) & busy=$!
train --ckpt true
"$build/bin/bench_model" --model "$model" --threads 2 --prompt 256 --decode 64 --runs 3 --reference false | grep -E "RESULT decode"
kill $busy
