// Test helper of tst_jinja: renders a list of (template, variables) pairs with @huggingface/jinja -- the oracle
// the C++ Jinja interpreter is compared with -- and writes, for each, {"text": ...} or {"error": message}.
// tst_jinja runs it on its feature cases (jinja/features.json) and on the Jinja it generates from
// LLaMA-Factory's templates, so the comparison holds for text the test computes itself.
//
// usage: node render_jinja_job.mjs JOB.json OUT.json      JOB.json: [{"template": string, "context": object}]
// Run from a folder whose node_modules holds package.json's dependencies.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [jobPath, outPath] = process.argv.slice(2);
if (!jobPath || !outPath) {
  console.error("usage: node render_jinja_job.mjs JOB.json OUT.json");
  process.exit(2);
}
function findPackage(name) {
  for (let dir = resolve(process.cwd()); ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    try {
      readFileSync(join(candidate, "package.json"));
      return candidate;
    } catch {}
    if (dirname(dir) === dir) throw new Error(`${name} is not installed (run npm ci)`);
  }
}
const jinjaDir = findPackage("@huggingface/jinja");
const pkg = JSON.parse(readFileSync(join(jinjaDir, "package.json"), "utf8"));
const { Template } = await import(pathToFileURL(join(jinjaDir, "dist", "index.js")).href);
const job = JSON.parse(readFileSync(jobPath, "utf8"));
const out = job.map(({ template, context }) => {
  try {
    return { text: new Template(template).render(context ?? {}) };
  } catch (e) {
    return { error: String(e?.message ?? e) };
  }
});
writeFileSync(outPath, JSON.stringify({ generator: `@huggingface/jinja ${pkg.version}`, results: out }));
