// check_greedy.mjs: does llama.cpp, fed token ids, continue a GGUF model greedily with the ids a fixture expects?
//
//   node check_greedy.mjs --model FILE.gguf --expected expected.json [--case all|N] [--which base|adapter]
//                         [--threads 2]
//
// `expected.json` is a golden fixture (shared/fixtures/hf/<model>/expected.json): cases[i].input_ids and
// cases[i].<which>.greedy (`adapter` goes with the fixture's merged/ model). The ids go straight to llama.cpp (no tokenizer, no BOS); the KV cache is kept in F32 and
// flash attention is off (llama.cpp's CPU flash attention goes through F16), so that only the weights' own
// precision matters: on the fp32 qwen3-tied fixture the log-probabilities then agree with transformers to ~4e-6. Prints one line per case and a closing "N passed, N failed";
// exits 0 when every case matches, 1 otherwise, 2 on usage or load errors.
import fs from "node:fs";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const args = { model: null, expected: null, case: "all", threads: 2, which: "base" };
for (let i = 2; i < process.argv.length; i++) {
    const key = process.argv[i].replace(/^--/, "");
    if (!(key in args)) {
        console.error(`unknown option ${process.argv[i]}`);
        process.exit(2);
    }
    args[key] = process.argv[++i];
}
if (!args.model || !args.expected) {
    console.error("usage: node check_greedy.mjs --model FILE.gguf --expected expected.json [--case all|N] [--which base|adapter] [--threads 2]");
    process.exit(2);
}

const fixture = JSON.parse(fs.readFileSync(args.expected, "utf8"));
const indices = args.case === "all" ? fixture.cases.map((_, i) => i) : [Number(args.case)];

let passed = 0, failed = 0;
try {
    const threads = Number(args.threads);
    const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: threads });
    const model = await llama.loadModel({ modelPath: args.model, gpuLayers: 0 });
    for (const i of indices) {
        const c = fixture.cases[i];
        const want = c[args.which].greedy;
        const context = await model.createContext({
            contextSize: c.input_ids.length + want.length + 16,
            sequences: 1,
            threads: { ideal: threads, min: threads },
            experimentalKvCacheKeyType: "F32",
            experimentalKvCacheValueType: "F32",
            flashAttention: false, // CPU flash attention rounds through F16 (logits off by ~4e-3)
        });
        const sequence = context.getSequence();
        const got = [];
        for await (const token of sequence.evaluate(c.input_ids, { temperature: 0, yieldEogToken: true })) {
            got.push(token);
            if (got.length === want.length) break;
        }
        const ok = got.length === want.length && got.every((t, k) => t === want[k]);
        if (ok) passed++; else failed++;
        console.log(`case ${i}: ${ok ? "match" : "MISMATCH"} (${want.length} greedy ids)`);
        if (!ok) console.log(`  want ${JSON.stringify(want)}\n  got  ${JSON.stringify(got)}`);
        await context.dispose();
    }
    await model.dispose();
    await llama.dispose();
} catch (e) {
    console.error(`check_greedy: ${e.message ?? e}`);
    process.exit(2);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
