#!/bin/sh
# The README's screenshots, in English and in Chinese, into docs/screenshots/:
#   <tab>_<lang>.png      every tab as it opens (the lathe binary, LATHE_SCREENSHOT)
#   train/runs/chat/export_<lang>.png are then replaced by real states (bench/screenshot_states: a run training with
#   its curves half drawn, two runs compared, a streamed answer with Compare open, the export wizard finishing), made
#   with the demo model and the embedded identity data; they need the Qwen3 tokenizer (tools/fetch_tokenizer.sh qwen3).
# Usage: tools/screenshots.sh [build dir]   (default: build; a build with -DLATHE_BUILD_BENCH=ON). Needs xvfb-run and a
# CJK font for the Chinese shots (Debian: fonts-wqy-microhei).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
lathe=$build/bin/lathe
out=$root/docs/screenshots
mkdir -p "$out"
tabs="train eval chat export runs"
for lang in en zh; do
    i=0
    for tab in $tabs; do
        file=$out/${tab}_${lang}.png
        LATHE_LANGUAGE=$lang LATHE_TAB=$i LATHE_SCREENSHOT=$file \
            xvfb-run -a -s "-screen 0 1400x900x24" "$lathe"
        echo "wrote $file"
        i=$((i + 1))
    done
done

tokenizer=${LATHE_QWEN3_TOKENIZER:-$HOME/.cache/lathe/tokenizers/qwen3}
if [ ! -x "$build/bin/screenshot_states" ] || [ ! -f "$tokenizer/tokenizer.json" ]; then
    echo "real-state screenshots skipped: need $build/bin/screenshot_states (LATHE_BUILD_BENCH=ON) and $tokenizer"
    exit 0
fi
model=$(mktemp -d)/demo-model
"$lathe" new-model --arch qwen3 --config demo --tokenizer "$tokenizer" --out "$model" >/dev/null
for lang in en zh; do
    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1400x900x24" \
        "$build/bin/screenshot_states" "$model" "$root/resources/demo" lathe_identity "$out" "$lang"
done
rm -rf "$(dirname "$model")"
