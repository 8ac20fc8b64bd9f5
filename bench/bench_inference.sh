#!/usr/bin/env bash
# bench_inference.sh: batch-1 decode speed and time to first token of `lathe chat` and `lathe api` beside
# llama.cpp on the same weights, then batched prediction (bench_predict, batch 1 against batch 4).
#
#   bench/bench_inference.sh MODEL_DIR [BUILD_DIR] [OUT_DIR]
#
#   env: ROUNDS=3 THREADS=2 MAX_NEW=64 TEMPLATE=qwen3_nothink PROMPT="..." GGUF=FILE (made if missing)
#        PREDICT=1 (0 skips bench_predict) PREDICT_SAMPLES=8 PREDICT_BATCH=4 QUIET_LOAD=0.7 QUIET_WAIT=24
#
# MODEL_DIR: e.g. `lathe new-model --arch qwen3 --config qwen3-0.6b --seed 1 --dtype bf16 --tokenizer ... --out DIR`.
# Every round runs, one after the other and each after waiting (up to QUIET_WAIT x 5 s) for the 1-minute load
# average to drop below QUIET_LOAD (the load is logged either way; a compile on the other core of a 2-core
# machine slows any engine by several times):
#   (a) `lathe chat` (bf16, greedy): PROMPT piped in twice with `clear` between, the first turn a warm-up; the
#       second turn's stderr line "[N tokens, X tokens/s, first token after Y s]" is the engine's own timing;
#   (b) `lathe api` (API_PORT=0, started once before the rounds and warmed up by one request): one streamed
#       request of bench_api_client.mjs (time to the first content delta, decode tok/s from the deltas'
#       times and the usage chunk, the same convention as (a));
#   (c) llama.cpp through node-llama-cpp (bench/llamacpp; `npm install` there once) on MODEL_DIR as a BF16
#       GGUF, a prompt of the same token count as (b)'s (token ids: the GGUF has a placeholder vocabulary),
#       MAX_NEW decode steps, one run after its warm-up.
# The API overhead is the API's decode time per token against the engine's own (chat) one, medians over the
# rounds; the same greedy prompt makes both generate the same tokens. Logs land in OUT_DIR.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
model=$(realpath "${1:?usage: bench_inference.sh MODEL_DIR [BUILD_DIR] [OUT_DIR]}")
build=$(realpath "${2:-$here/../build}")
out=${3:-/tmp/lathe-bench-inference}
mkdir -p "$out"
out=$(realpath "$out")
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
maxNew=${MAX_NEW:-64}
template=${TEMPLATE:-qwen3_nothink}
prompt=${PROMPT:-Write a short story about a robot who learns to paint.}
lathe="$build/bin/lathe"
log="$out/log.txt"
: >"$log"

QUIET_WAIT=${QUIET_WAIT:-24}
# shellcheck source=bench/quiet.sh
. "$(dirname "$0")/quiet.sh"

say() { echo "$*" | tee -a "$log"; }

gguf=${GGUF:-$out/$(basename "$model")-bf16.gguf}
if [ ! -f "$gguf" ]; then
    "$build/bin/bench_make_gguf" --model "$model" --out "$gguf" --outtype bf16 --quiet
fi
cat "$model"/*.safetensors "$gguf" >/dev/null # page cache warm: load times are not what is measured

say "model $model, gguf $gguf, $threads threads, bf16, template $template, max_new_tokens $maxNew, $(nproc) cores"
say "lathe $lathe ($(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?') + working tree)"

modelArgs=("model_name_or_path=$model" "template=$template" "infer_dtype=bfloat16" "temperature=0"
           "max_new_tokens=$maxNew" --threads "$threads")

# (b)'s server: started once, its port read from the "listening on" line.
API_PORT=0 "$lathe" api "${modelArgs[@]}" >"$out/api-server.txt" 2>&1 &
apiPid=$!
trap 'kill "$apiPid" 2>/dev/null || true' EXIT
url=""
for _ in $(seq 1 240); do
    url=$(grep -o 'http://[0-9.]*:[0-9]*/v1' "$out/api-server.txt" || true)
    [ -n "$url" ] && break
    kill -0 "$apiPid" 2>/dev/null || { cat "$out/api-server.txt"; exit 1; }
    sleep 0.5
done
[ -n "$url" ] || { echo "lathe api did not start"; exit 1; }
node "$here/bench_api_client.mjs" --url "$url" --prompt "$prompt" --max-tokens "$maxNew" --warmup 1 --runs 0 \
    >"$out/api-warmup.txt" 2>&1 || true
promptTokens=$(grep -o 'prompt [0-9]* tokens' "$out/api-warmup.txt" | head -1 | grep -o '[0-9]*' || true)
[ -n "$promptTokens" ] || { cat "$out/api-warmup.txt"; exit 1; }
say "api $url, prompt $promptTokens tokens after the template"

for round in $(seq 1 "$rounds"); do
    say "== round $round: chat $(wait_quiet)"
    printf '%s\nclear\n%s\nexit\n' "$prompt" "$prompt" |
        "$lathe" chat "${modelArgs[@]}" >"$out/chat-$round.out" 2>"$out/chat-$round.err"
    grep -E '^\[[0-9]+ tokens' "$out/chat-$round.err" | tail -1 | sed 's/^/chat: /' | tee -a "$log"
    say "   loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)"

    say "== round $round: api $(wait_quiet)"
    node "$here/bench_api_client.mjs" --url "$url" --prompt "$prompt" --max-tokens "$maxNew" --warmup 0 \
        --runs 1 --json "$out/api-$round.json" >"$out/api-$round.txt" 2>&1
    grep -E '^run|RESULT' "$out/api-$round.txt" | sed 's/^/api: /' | tee -a "$log"
    say "   loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)"

    say "== round $round: llama.cpp $(wait_quiet)"
    (cd "$here/llamacpp" && node bench_llamacpp.mjs --model "$gguf" --threads "$threads" --prompt "$promptTokens" \
        --decode "$maxNew" --runs 1 --json "$out/llamacpp-$round.json") >"$out/llamacpp-$round.txt" 2>&1
    grep -E 'RESULT' "$out/llamacpp-$round.txt" | sed 's/^/llama.cpp: /' | tee -a "$log"
    say "   loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)"
done
kill "$apiPid" 2>/dev/null || true
wait "$apiPid" 2>/dev/null || true

# Medians over the rounds, and the API's overhead on the engine's decode time.
node - "$out" "$rounds" "$promptTokens" <<'EOF' | tee -a "$log"
const fs = require("fs");
const [out, rounds, promptTokens] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const median = (v) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const chat = [], api = [], llama = [];
for (let r = 1; r <= rounds; r++) {
    const lines = fs.readFileSync(`${out}/chat-${r}.err`, "utf8").split("\n").filter((l) => /^\[\d+ tokens/.test(l));
    const m = /^\[(\d+) tokens, ([\d.]+) tokens\/s, first token after ([\d.]+) s/.exec(lines[lines.length - 1]);
    chat.push({ tokens: +m[1], decode: +m[2], ttft: +m[3] });
    const a = JSON.parse(fs.readFileSync(`${out}/api-${r}.json`, "utf8"));
    api.push({ tokens: a.completionTokens[0], decode: a.decodeTokPerS, ttft: a.ttftSeconds });
    const l = JSON.parse(fs.readFileSync(`${out}/llamacpp-${r}.json`, "utf8"));
    llama.push({ decode: l.decodeTokPerS, ttft: promptTokens / l.prefillTokPerS });
}
const row = (name, v) => {
    const d = median(v.map((x) => x.decode)), t = median(v.map((x) => x.ttft));
    console.log(`${name.padEnd(10)} decode ${d.toFixed(2)} tok/s (${(1000 / d).toFixed(1)} ms/token; rounds ` +
        `${v.map((x) => x.decode.toFixed(2)).join(" / ")}), first token ${t.toFixed(3)} s (rounds ` +
        `${v.map((x) => x.ttft.toFixed(3)).join(" / ")})`);
    return { d, t };
};
console.log(`SUMMARY prompt ${promptTokens} tokens, completion tokens chat ${chat.map((x) => x.tokens).join("/")}, api ${api.map((x) => x.tokens).join("/")}`);
const c = row("chat", chat), a = row("api", api), l = row("llama.cpp", llama);
const perRound = chat.map((x, i) => (x.decode / api[i].decode - 1) * 100);
console.log(`SUMMARY api decode overhead vs engine (chat): ${((c.d / a.d - 1) * 100).toFixed(1)}% of decode time ` +
    `(per round ${perRound.map((p) => p.toFixed(1) + "%").join(" / ")}); first token +${((a.t - c.t) * 1000).toFixed(0)} ms`);
console.log(`SUMMARY lathe chat decode / llama.cpp: ${(c.d / l.d).toFixed(2)}x, first token ${(c.t / l.t).toFixed(2)}x llama.cpp's`);
EOF

if [ "${PREDICT:-1}" = 1 ]; then
    say "== bench_predict $(wait_quiet)"
    "$build/bin/bench_predict" --model "$model" --threads "$threads" --dtype bf16 --batch "${PREDICT_BATCH:-4}" \
        --samples "${PREDICT_SAMPLES:-8}" --prompt 32 --new 32 2>&1 | tee -a "$log"
    say "   loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
