// llama.cpp's view of GGUF files, for tests/core/tst_gguf_llamacpp.cpp: loads each file with the prebuilt
// llama.cpp of node-llama-cpp (CPU, no build) and reports what llama.cpp does with it. It only reports; the C++
// test holds the expectations (Lathe's own token ids and generations) and compares.
//
//   node probe.mjs job.json result.json        (run in the folder holding node_modules)
//
// job.json: {"threads": 2, "texts": [string], "runs": [{"name", "model": FILE.gguf, "lora": FILE.gguf|null,
//            "tokenize": bool, "greedy": [{"ids": [int], "n": int}], "chat": {"user": string, "max_tokens": int}}]}
// result.json: {"runs": [{"name", "bos", "eos", "eot", "add_bos", "architecture", "chat_template",
//               "tokens": [[int]], "detokenized": [string], "greedy": [[int]],
//               "chat": {"wrapper", "prompt", "prompt_ids", "prompt_text_ids", "response", "stop_reason"}}]}
// Greedy runs feed the ids as they are (no BOS added), keep the KV cache in F32 and flash attention off (CPU flash
// attention rounds through F16), so only the weights' precision differs from Lathe's float32 run. "chat" runs
// LlamaChatSession with the chat wrapper node-llama-cpp resolves from the file's tokenizer.chat_template (a
// built-in wrapper when it recognises the template, else the template rendered as Jinja), stopping on llama.cpp's
// end-of-generation tokens; temperature 0, no system prompt.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [jobPath, resultPath] = process.argv.slice(2);
if (!jobPath || !resultPath) {
    console.error("usage: node probe.mjs job.json result.json");
    process.exit(2);
}
const here = path.dirname(new URL(import.meta.url).pathname);
const nlc = await import(pathToFileURL(path.join(here, "node_modules", "node-llama-cpp", "dist", "index.js")).href);
const { getLlama, LlamaLogLevel, LlamaChatSession } = nlc;

const job = JSON.parse(fs.readFileSync(jobPath, "utf8"));
const threads = job.threads ?? 2;
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: threads });

const contextOptions = (size, lora) => ({
    contextSize: size,
    sequences: 1,
    threads: { ideal: threads, min: threads },
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
    flashAttention: false,
    ...(lora ? { lora: { adapters: [{ filePath: lora }] } } : {}),
});

async function chat(model, run) {
    const context = await model.createContext(contextOptions(1024, run.lora));
    const session = new LlamaChatSession({ contextSequence: context.getSequence() });
    session.setChatHistory([]); // no system prompt
    const wrapper = session.chatWrapper;
    const state = wrapper.generateContextState({
        chatHistory: [{ type: "user", text: run.chat.user }, { type: "model", response: [] }],
    });
    const out = await session.promptWithMeta(run.chat.user, { temperature: 0, maxTokens: run.chat.max_tokens ?? 64 });
    const result = {
        wrapper: wrapper.wrapperName,
        prompt: state.contextText.toString(),
        prompt_ids: Array.from(state.contextText.tokenize(model.tokenizer)),
        // The rendered prompt tokenized whole by llama.cpp, as llama-server and llama-cli tokenize a chat prompt
        // (LlamaChatSession tokenizes the template's text and each message's text apart).
        prompt_text_ids: Array.from(model.tokenize(state.contextText.toString(), true)),
        response: out.responseText,
        stop_reason: out.stopReason,
    };
    session.dispose();
    await context.dispose();
    return result;
}

const results = [];
for (const run of job.runs) {
    const model = await llama.loadModel({ modelPath: run.model, gpuLayers: 0 });
    const meta = model.fileInfo.metadata;
    const r = {
        name: run.name,
        architecture: meta.general?.architecture ?? null,
        bos: model.tokens.bos,
        eos: model.tokens.eos,
        eot: model.tokens.eot,
        add_bos: model.tokens.shouldPrependBosToken,
        chat_template: meta.tokenizer?.chat_template ?? null,
    };
    if (run.tokenize) {
        r.tokens = job.texts.map((t) => Array.from(model.tokenize(t, true)));
        r.detokenized = r.tokens.map((ids) => model.detokenize(ids, true));
    }
    r.greedy = [];
    for (const g of run.greedy ?? []) {
        const context = await model.createContext(contextOptions(g.ids.length + g.n + 16, run.lora));
        const got = [];
        for await (const token of context.getSequence().evaluate(g.ids, { temperature: 0, yieldEogToken: true })) {
            got.push(token);
            if (got.length >= g.n) break;
        }
        r.greedy.push(got);
        await context.dispose();
    }
    if (run.chat)
        r.chat = await chat(model, run);
    results.push(r);
    await model.dispose();
    console.log(`${run.name}: ${path.basename(run.model)}${run.lora ? " + " + path.basename(run.lora) : ""} done`);
}
await llama.dispose();
fs.writeFileSync(resultPath, JSON.stringify({ runs: results }, null, 1));
