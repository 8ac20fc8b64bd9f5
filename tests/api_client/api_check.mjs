// The official OpenAI JavaScript client against a running `lathe api`, for tests/app/tst_api.cpp. It only
// reports what the client saw; the C++ test holds the expectations.
//
//   node api_check.mjs BASE_URL API_KEY RESULT.json      (API_KEY "-" for none; run where node_modules is)
//
// Scenarios: models.list; a greedy non-streaming chat; the same streamed (with usage); a request with tools,
// then the follow-up carrying the assistant's tool call and the tool result; 20 concurrent requests; a stream
// abandoned after its first delta followed by a normal request; a client with a wrong key.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [baseURL, key, resultPath] = process.argv.slice(2);
const here = path.dirname(new URL(import.meta.url).pathname);
const { default: OpenAI } = await import(pathToFileURL(path.join(here, "node_modules", "openai", "index.mjs")).href);
const apiKey = key === "-" ? "unused" : key;
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120000 });
const out = {};
const messages = [{ role: "user", content: "What is the weather in Paris?" }];
const request = { model: "lathe-test", messages, temperature: 0, max_tokens: 120 };

async function scenario(name, fn) {
    const start = Date.now();
    try {
        out[name] = await fn();
    } catch (e) {
        out[name] = { error: String(e?.message ?? e), status: e?.status ?? null };
    }
    out[name].ms = Date.now() - start;
    console.log(`${name}: ${out[name].error ? "ERROR " + out[name].error : "ok"} (${out[name].ms} ms)`);
}

await scenario("models", async () => ({ ids: (await client.models.list()).data.map((m) => m.id) }));

await scenario("chat", async () => {
    const r = await client.chat.completions.create(request);
    return { content: r.choices[0].message.content, finish_reason: r.choices[0].finish_reason, usage: r.usage,
             object: r.object, id: r.id };
});

await scenario("stream", async () => {
    const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    let content = "", roles = [], finish = null, chunks = 0, usage = null;
    for await (const chunk of stream) {
        chunks++;
        if (chunk.usage) usage = chunk.usage;
        for (const c of chunk.choices) {
            if (c.delta.role) roles.push(c.delta.role);
            if (c.delta.content) content += c.delta.content;
            if (c.finish_reason) finish = c.finish_reason;
        }
    }
    return { content, roles, finish_reason: finish, chunks, usage };
});

const tools = [{
    type: "function",
    function: {
        name: "get_weather",
        description: "Current weather of a city",
        parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
}];
await scenario("tools", async () => {
    const r = await client.chat.completions.create({ ...request, tools });
    const m = r.choices[0].message;
    const calls = (m.tool_calls ?? []).map((c) => ({ id: c.id, type: c.type, name: c.function.name, arguments: c.function.arguments }));
    let followUp = null;
    if (m.tool_calls?.length) {
        const r2 = await client.chat.completions.create({
            ...request, tools,
            messages: [...messages, { role: "assistant", content: null, tool_calls: m.tool_calls },
                       { role: "tool", tool_call_id: m.tool_calls[0].id, content: "{\"temperature\": 21}" }],
        });
        followUp = { finish_reason: r2.choices[0].finish_reason, prompt_tokens: r2.usage.prompt_tokens };
    }
    return { content: m.content, calls, finish_reason: r.choices[0].finish_reason, followUp };
});

await scenario("concurrent", async () => {
    const replies = await Promise.all(Array.from({ length: 20 }, () => client.chat.completions.create(request)));
    return { contents: replies.map((r) => r.choices[0].message.content) };
});

await scenario("disconnect", async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ ...request, max_tokens: 400, stream: true }, { signal: controller.signal });
    let got = 0;
    try {
        for await (const chunk of stream) {
            if (chunk.choices[0]?.delta?.content && ++got >= 1) {
                controller.abort();
                break;
            }
        }
    } catch (e) { /* the abort */ }
    const after = Date.now();
    const r = await client.chat.completions.create(request);
    return { deltas_before_abort: got, next_content: r.choices[0].message.content, next_ms: Date.now() - after };
});

await scenario("wrong_key", async () => {
    const bad = new OpenAI({ baseURL, apiKey: "wrong-key", maxRetries: 0 });
    try {
        await bad.models.list();
        return { accepted: true };
    } catch (e) {
        return { accepted: false, status: e.status, message: e.error?.message ?? e.message };
    }
});

fs.writeFileSync(resultPath, JSON.stringify(out, null, 1));
