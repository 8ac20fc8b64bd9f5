// @huggingface/jinja on bench_jinja's conversations, for comparison (same output bytes, microseconds per render).
//
//   node bench/bench_jinja.mjs TEMPLATE.jinja [messages=2,10,50,200]
// Run from a folder whose node_modules has @huggingface/jinja (e.g. build/template_data).
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [templatePath, sizesArg = "2,10,50,200"] = process.argv.slice(2);
const { Template } = await import(pathToFileURL(join(resolve("node_modules/@huggingface/jinja"), "dist", "index.js")).href);
const source = readFileSync(templatePath, "utf8");

function conversation(messages) {
  const filler = "The quick brown fox jumps over the lazy dog; 敏捷的棕色狐狸跳过了懒狗。 ";
  const list = [{ role: "system", content: "You are a helpful assistant." }];
  for (let i = 1; i < messages; ++i) {
    let text = "";
    while (Buffer.byteLength(text) < 200) text += filler;
    if (i % 2 === 1) list.push({ role: "user", content: `Question ${i}: ${text}` });
    else if (i === 2) {
      list.push({ role: "assistant", content: "", tool_calls: [{ type: "function", function: { name: "get_weather", arguments: { city: "Paris" } } }] });
      list.push({ role: "tool", content: '{"temperature": 20}' });
      ++i;
    } else list.push({ role: "assistant", content: `Answer ${i}: ${text}` });
  }
  return list;
}
let t0 = performance.now(), parses = 0;
while (performance.now() - t0 < 200 || parses < 10) { new Template(source); ++parses; }
console.log(`template ${templatePath}: parsed in ${((performance.now() - t0) * 1000 / parses).toFixed(1)} us`);
const tpl = new Template(source);
for (const n of sizesArg.split(",").map(Number)) {
  const context = {
    messages: conversation(n), add_generation_prompt: true, bos_token: "<s>", eos_token: "</s>",
    tools: [{ type: "function", function: { name: "get_weather", description: "Current weather of a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }],
  };
  let bytes = 0, renders = 0;
  t0 = performance.now();
  while (performance.now() - t0 < 1000 || renders < 5) { bytes = Buffer.byteLength(tpl.render(context)); ++renders; }
  const us = (performance.now() - t0) * 1000 / renders;
  console.log(`${String(n).padStart(9)} ${String(bytes).padStart(12)} ${us.toFixed(1).padStart(14)}`);
}
