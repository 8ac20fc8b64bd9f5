// Chat templates (core/template/jinja): any text is either a template that renders, within the sandbox's
// budgets, or a JinjaError naming its line and column. Anything else escaping (another exception, a crash, a
// hang, gigabytes of memory) is a finding: templates come from downloaded models.
#include <cstdint>
#include <string>

#include "template/jinja/jinja.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const nlohmann::ordered_json context = nlohmann::ordered_json::parse(R"({
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                     {"role": "assistant", "content": "<think>\nhm\n</think>\n\nHello!",
                      "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"x": 1}}}]},
                     {"role": "tool", "content": "{\"ok\": true}"}, {"role": "user", "content": "2+2?"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>", "enable_thinking": false})");
    const std::string source(reinterpret_cast<const char*>(data), size);
    lathe::jinja::RenderOptions options;
    options.limits.maxSteps = 200000;
    options.limits.maxOutputBytes = 1 << 20;
    options.limits.maxListLength = 100000;
    options.limits.maxCallDepth = 50;
    options.now = std::chrono::system_clock::time_point(std::chrono::seconds(1785067200));
    try {
        const lathe::jinja::Template tpl(source, "fuzz");
        const std::string out = tpl.render(context, options);
        if (out.size() > options.limits.maxOutputBytes)
            __builtin_trap();
    } catch (const lathe::jinja::JinjaError& e) {
        if (e.line() < 1 || e.column() < 1)
            __builtin_trap();
    }
    return 0;
}
