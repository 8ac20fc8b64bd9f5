// bench_llamacpp.mjs: llama.cpp's prefill and decode speed on a GGUF file, the reference Lathe's engine is
// measured against (bench_model prints the same two numbers for the HF folder the GGUF was made from).
//
//   node bench_llamacpp.mjs --model FILE.gguf [--threads 2] [--prompt 256] [--decode 64] [--runs 3]
//                           [--text FILE] [--json OUT.json]
//
// llama.cpp runs through node-llama-cpp on the CPU only (gpu: false). One run = a fresh sequence fed the
// prompt, then greedy tokens with no EOS stop: prefill tokens/s = prompt length / time to the first new token;
// decode tokens/s = `--decode` / time from the first to the (decode+1)-th new token, i.e. `--decode` single-token
// steps, the convention bench_model uses. A warm-up run (page faults, thread pool) is not counted; the median
// of `--runs` runs is reported. The prompt is `--prompt` pseudo-random ids below the first special token
// (seeded, the same every time) unless `--text` gives a file to tokenize and cut/repeat to length.
import fs from "node:fs";
import os from "node:os";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

function parseArgs(argv) {
    const args = { threads: 2, prompt: 256, decode: 64, runs: 3, text: null, json: null, model: null };
    for (let i = 2; i < argv.length; i++) {
        const key = argv[i].replace(/^--/, "");
        if (!(key in args)) throw new Error(`unknown option ${argv[i]}`);
        const value = argv[++i];
        args[key] = typeof args[key] === "number" ? Number(value) : value;
    }
    if (!args.model) throw new Error("usage: node bench_llamacpp.mjs --model FILE.gguf [--threads 2] [--prompt 256] [--decode 64] [--runs 3] [--text FILE] [--json OUT]");
    return args;
}

function median(values) {
    const s = [...values].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

// xorshift32: the same prompt on every machine and run.
function pseudoRandomIds(count, limit, seed = 12345) {
    let x = seed >>> 0;
    const ids = [];
    for (let i = 0; i < count; i++) {
        x ^= x << 13; x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5; x >>>= 0;
        ids.push(x % limit);
    }
    return ids;
}

const args = parseArgs(process.argv);
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: args.threads });
const loadStart = performance.now();
const model = await llama.loadModel({ modelPath: args.model, gpuLayers: 0 });
const loadSeconds = (performance.now() - loadStart) / 1000;
const context = await model.createContext({
    contextSize: args.prompt + args.decode + 16,
    batchSize: Math.max(512, args.prompt),
    sequences: 1,
    threads: { ideal: args.threads, min: args.threads },
});
const sequence = context.getSequence();

let prompt;
if (args.text) {
    const tokens = model.tokenize(fs.readFileSync(args.text, "utf8"));
    prompt = [];
    while (prompt.length < args.prompt) prompt.push(...tokens);
    prompt = prompt.slice(0, args.prompt);
} else {
    // Ids below the first control token: ordinary BPE tokens (Qwen: < 151643).
    const types = model.fileInfo.metadata.tokenizer?.ggml?.token_type;
    let limit = model.tokens.size ?? types?.length;
    if (types) {
        const firstControl = types.findIndex((t) => t !== 1);
        if (firstControl > 0) limit = firstControl;
    }
    prompt = pseudoRandomIds(args.prompt, limit);
}

async function runOnce() {
    await sequence.clearHistory();
    const t0 = performance.now();
    let t1 = 0;
    const out = [];
    for await (const token of sequence.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
        if (out.length === 0) t1 = performance.now();
        out.push(token);
        if (out.length === args.decode + 1) break;
    }
    const t2 = performance.now();
    return {
        prefill: args.prompt / ((t1 - t0) / 1000),
        decode: args.decode / ((t2 - t1) / 1000),
        tokens: out,
    };
}

const runs = [];
for (let r = 0; r <= args.runs; r++) {
    const res = await runOnce();
    if (r === 0) continue; // warm-up
    runs.push(res);
    console.log(`run ${r}: prefill ${res.prefill.toFixed(1)} tok/s, decode ${res.decode.toFixed(2)} tok/s`);
}

const cpu = os.cpus()[0]?.model ?? "unknown";
const result = {
    model: args.model,
    cpu,
    threads: args.threads,
    contextThreads: context.currentThreads,
    flashAttention: context.flashAttention,
    promptTokens: args.prompt,
    decodeTokens: args.decode,
    runs: args.runs,
    loadSeconds,
    prefillTokPerS: median(runs.map((r) => r.prefill)),
    decodeTokPerS: median(runs.map((r) => r.decode)),
    prefillRuns: runs.map((r) => r.prefill),
    decodeRuns: runs.map((r) => r.decode),
    firstTokens: runs[0].tokens.slice(0, 8),
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    nodeLlamaCpp: JSON.parse(fs.readFileSync(new URL("./node_modules/node-llama-cpp/package.json", import.meta.url))).version,
    llamaCppRelease: llama.llamaCppRelease?.release,
    buildType: llama.buildType,
    systemInfo: llama.systemInfo.trim(),
};
console.log(`model ${args.model}: load ${loadSeconds.toFixed(2)} s, ${args.threads} threads (context uses ${result.contextThreads}), flash attention ${result.flashAttention}`);
console.log(`RESULT prefill ${args.prompt} tokens: ${result.prefillTokPerS.toFixed(1)} tok/s`);
console.log(`RESULT decode ${args.decode} tokens: ${result.decodeTokPerS.toFixed(2)} tok/s (${(1000 / result.decodeTokPerS).toFixed(1)} ms/token)`);
console.log(`RESULT peak RSS ${result.peakRssMiB.toFixed(1)} MiB (node process, includes the Node.js runtime)`);
if (args.json) fs.writeFileSync(args.json, JSON.stringify(result, null, 2) + "\n");

await context.dispose();
await model.dispose();
await llama.dispose();
