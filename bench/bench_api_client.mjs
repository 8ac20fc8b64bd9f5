// bench_api_client.mjs: time to first token and decode speed of `lathe api` as a streaming client sees them.
//
//   node bench_api_client.mjs --url http://127.0.0.1:PORT/v1 [--prompt TEXT] [--max-tokens 64] [--runs 3]
//                             [--warmup 1] [--json OUT.json]
//
// Each run POSTs one greedy chat completion (temperature 0, stream: true, stream_options.include_usage) and
// reads the server-sent events as they arrive (Node's built-in fetch, no npm packages). Per run:
//   ttft    = seconds from sending the request to the first non-empty content (or reasoning) delta: HTTP,
//             template, tokenization and prefill, as a chat UI waits for them;
//   decode  = (completion_tokens - 1) / seconds from that first delta to the last one: the same convention as
//             `lathe chat`'s speed line (the first token belongs to the prefill), so the two compare directly.
// `--warmup` runs are not counted; the median of `--runs` runs is printed as RESULT lines and written to --json.
import fs from "node:fs";

function parseArgs(argv) {
    const args = {
        url: null, prompt: "Write a short story about a robot who learns to paint.", "max-tokens": 64, runs: 3,
        warmup: 1, json: null, model: "gpt-3.5-turbo",
    };
    for (let i = 2; i < argv.length; i++) {
        const key = argv[i].replace(/^--/, "");
        if (!(key in args)) throw new Error(`unknown option ${argv[i]}`);
        const value = argv[++i];
        args[key] = typeof args[key] === "number" ? Number(value) : value;
    }
    if (!args.url) throw new Error("usage: node bench_api_client.mjs --url http://127.0.0.1:PORT/v1 [--prompt TEXT] [--max-tokens 64] [--runs 3] [--warmup 1] [--json OUT]");
    return args;
}

function median(values) {
    const s = [...values].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

async function runOnce(args) {
    const body = {
        model: args.model,
        messages: [{ role: "user", content: args.prompt }],
        temperature: 0,
        max_tokens: args["max-tokens"],
        stream: true,
        stream_options: { include_usage: true },
    };
    const t0 = performance.now();
    const res = await fetch(`${args.url}/chat/completions`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    const decoder = new TextDecoder();
    let buffer = "", first = 0, last = 0, deltas = 0, usage = null, text = "", finish = null;
    for await (const bytes of res.body) {
        const now = performance.now();
        buffer += decoder.decode(bytes, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (!event.startsWith("data: ")) continue;
            const data = event.slice(6);
            if (data === "[DONE]") continue;
            const chunk = JSON.parse(data);
            if (chunk.usage) usage = chunk.usage;
            const choice = chunk.choices?.[0];
            if (!choice) continue;
            if (choice.finish_reason) finish = choice.finish_reason;
            const piece = (choice.delta?.content ?? "") + (choice.delta?.reasoning_content ?? "");
            if (piece.length === 0) continue;
            if (!first) first = now;
            last = now;
            deltas++;
            text += piece;
        }
    }
    if (!usage) throw new Error("no usage chunk in the stream");
    const ttft = (first - t0) / 1000;
    const decodeSeconds = (last - first) / 1000;
    return {
        ttft,
        decode: usage.completion_tokens > 1 && decodeSeconds > 0 ? (usage.completion_tokens - 1) / decodeSeconds : 0,
        decodeSeconds,
        totalSeconds: (performance.now() - t0) / 1000,
        promptTokens: usage.prompt_tokens,
        completionTokens: usage.completion_tokens,
        deltas,
        finish,
        text,
    };
}

const args = parseArgs(process.argv);
const runs = [];
for (let r = 0; r < args.warmup + args.runs; r++) {
    const res = await runOnce(args);
    const label = r < args.warmup ? "warm-up" : `run ${r - args.warmup + 1}`;
    console.log(`${label}: ttft ${res.ttft.toFixed(3)} s, decode ${res.decode.toFixed(2)} tok/s ` +
        `(${res.completionTokens} tokens in ${res.deltas} deltas, prompt ${res.promptTokens} tokens, ${res.finish})`);
    if (r >= args.warmup) runs.push(res);
}
if (runs.length === 0) process.exit(0); // warm-up only
const result = {
    url: args.url,
    maxTokens: args["max-tokens"],
    promptTokens: runs[0].promptTokens,
    completionTokens: runs.map((r) => r.completionTokens),
    ttftSeconds: median(runs.map((r) => r.ttft)),
    decodeTokPerS: median(runs.map((r) => r.decode)),
    ttftRuns: runs.map((r) => r.ttft),
    decodeRuns: runs.map((r) => r.decode),
    text: runs[0].text,
};
console.log(`RESULT api ttft ${result.ttftSeconds.toFixed(3)} s`);
console.log(`RESULT api decode ${result.decodeTokPerS.toFixed(2)} tok/s (${(1000 / result.decodeTokPerS).toFixed(1)} ms/token)`);
console.log(`RESULT api prompt ${result.promptTokens} tokens`);
if (args.json) fs.writeFileSync(args.json, JSON.stringify(result, null, 2) + "\n");
