#!/bin/sh
# Saves a PNG of every tab of the workbench, in English and in Chinese, into docs/screenshots/.
# Usage: tools/screenshots.sh [path/to/lathe]   (default: build/bin/lathe). Needs xvfb-run.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
lathe=${1:-$root/build/bin/lathe}
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
