#!/usr/bin/env bash
# Builds the fuzzers (clang, libFuzzer + ASan + UBSan) in build-fuzz/ and runs each for a bounded time.
#
#   fuzz/run.sh [SECONDS] [NAME...]     default 30 s each, every harness
#
# Each run starts from the seed corpus (fuzz/corpus/NAME, read only) and keeps what it discovers in
# build-fuzz/corpus/NAME, so later runs continue from there. A crash leaves its input in
# build-fuzz/crashes/NAME/ and makes the script exit 1: copy the input to fuzz/regressions/NAME/, fix the
# parser, and the ordinary build replays it as a test (fuzz_replay_NAME) from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  names=(safetensors_header model_config tokenizer_json tokenizer_config dataset_records dataset_info yaml_args
         chat_request eval_inputs jinja dataset_card)
fi
build=${LATHE_FUZZ_BUILD:-build-fuzz}
if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DLATHE_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"$(nproc)" >/dev/null
status=0
for name in "${names[@]}"; do
  corpus="$build/corpus/$name"
  crashes="$build/crashes/$name"
  mkdir -p "$corpus" "$crashes"
  log="$build/fuzz-$name.log"
  # -rss_limit_mb: a parser that allocates gigabytes for a small input is a finding too.
  if "$build/fuzz/fuzz_$name" "$corpus" "fuzz/corpus/$name" -max_total_time="$seconds" -timeout=60 \
      -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1; then
    echo "fuzz_$name: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs in ${seconds} s, no crash"
  else
    echo "fuzz_$name: FAILED (input in $crashes/, log $log)"
    grep -m3 -E "ERROR|SUMMARY|deadly|uncaught" "$log" || true
    status=1
  fi
done
exit $status
