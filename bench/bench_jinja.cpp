// Chat-template rendering speed (core/template/jinja): what `template: jinja` adds to each API request.
//
//   bench_jinja TEMPLATE.jinja [--messages 2,10,50,200] [--tools 1] [--seconds 1]
//
// Parses the template once (timed) and renders conversations of N messages (system, then user/assistant turns of
// ~200 characters each, an assistant turn with a tool call and a tool result when --tools 1) for about --seconds
// each; prints microseconds per render and the prompt's size. bench_jinja.mjs times @huggingface/jinja on the same
// conversations for comparison.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "template/jinja/jinja.h"

using Json = nlohmann::ordered_json;

namespace {

std::string option(int argc, char** argv, const std::string& name, const std::string& fallback)
{
    for (int i = 2; i + 1 < argc; ++i)
        if (argv[i] == "--" + name)
            return argv[i + 1];
    return fallback;
}

/// The conversation the benchmark renders (bench_jinja.mjs builds the same one).
Json conversation(int messages, bool tools)
{
    const std::string filler = "The quick brown fox jumps over the lazy dog; 敏捷的棕色狐狸跳过了懒狗。 ";
    Json list = Json::array();
    list.push_back({{"role", "system"}, {"content", "You are a helpful assistant."}});
    for (int i = 1; i < messages; ++i) {
        std::string text;
        while (text.size() < 200)
            text += filler;
        if (i % 2 == 1) {
            list.push_back({{"role", "user"}, {"content", "Question " + std::to_string(i) + ": " + text}});
        } else if (tools && i == 2) {
            list.push_back({{"role", "assistant"}, {"content", ""},
                            {"tool_calls", Json::array({{{"type", "function"},
                                                          {"function", {{"name", "get_weather"},
                                                                        {"arguments", {{"city", "Paris"}}}}}}})}});
            list.push_back({{"role", "tool"}, {"content", "{\"temperature\": 20}"}});
            ++i;
        } else {
            list.push_back({{"role", "assistant"}, {"content", "Answer " + std::to_string(i) + ": " + text}});
        }
    }
    return list;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_jinja TEMPLATE.jinja [--messages 2,10,50,200] [--tools 1] [--seconds 1]\n");
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string source = ss.str();
    const bool tools = option(argc, argv, "tools", "1") == "1";
    const double seconds = std::atof(option(argc, argv, "seconds", "1").c_str());
    std::vector<int> sizes;
    std::stringstream list(option(argc, argv, "messages", "2,10,50,200"));
    for (std::string item; std::getline(list, item, ',');)
        sizes.push_back(std::atoi(item.c_str()));

    using Clock = std::chrono::steady_clock;
    auto start = Clock::now();
    int parses = 0;
    while (std::chrono::duration<double>(Clock::now() - start).count() < 0.2 || parses < 10) {
        lathe::jinja::Template t(source, argv[1]);
        ++parses;
    }
    const double parseUs = std::chrono::duration<double, std::micro>(Clock::now() - start).count() / parses;
    const lathe::jinja::Template tpl(source, argv[1]);
    std::printf("template %s: %zu bytes, parsed in %.1f us\n", argv[1], source.size(), parseUs);
    std::printf("%9s %12s %14s %10s\n", "messages", "prompt bytes", "us per render", "MB/s");
    for (const int n : sizes) {
        Json context = {{"messages", conversation(n, tools)}, {"add_generation_prompt", true},
                        {"bos_token", "<s>"}, {"eos_token", "</s>"}};
        if (tools)
            context["tools"] = Json::array({{{"type", "function"},
                                             {"function", {{"name", "get_weather"},
                                                           {"description", "Current weather of a city"},
                                                           {"parameters", {{"type", "object"},
                                                                           {"properties", {{"city", {{"type", "string"}}}}},
                                                                           {"required", {"city"}}}}}}}});
        size_t bytes = 0;
        int renders = 0;
        start = Clock::now();
        while (std::chrono::duration<double>(Clock::now() - start).count() < seconds || renders < 5) {
            bytes = tpl.render(context).size();
            ++renders;
        }
        const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count() / renders;
        std::printf("%9d %12zu %14.1f %10.1f\n", n, bytes, us, double(bytes) / us);
    }
    return 0;
}
