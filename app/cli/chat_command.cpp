#include "cli/chat_command.h"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "cli/train_command.h"
#include "data/dataset_loader.h"
#include "runtime/device.h"
#include "util/error.h"

namespace lathe {

namespace {

/// Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool isValidUtf8(const std::string& text)
{
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
        const unsigned char c = *p;
        int n = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++p;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (end - p <= n)
            return false;
        for (int i = 1; i <= n; ++i) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        static const std::uint32_t minimum[] = {0, 0x80, 0x800, 0x10000};
        if (cp < minimum[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        p += n + 1;
    }
    return true;
}

} // namespace


namespace {

std::atomic<bool> g_interrupt{false};

void onInterrupt(int) { g_interrupt = true; }

} // namespace

ChatModelOptions chatModelOptions(const ArgumentSet& args, const std::string& device)
{
    ChatModelOptions o;
    o.modelDir = args.getString("model_name_or_path");
    if (o.modelDir.empty())
        fail("model_name_or_path: required (the model folder to chat with)");
    o.adapters = splitNames(args.getString("adapter_name_or_path"));
    o.templateName = args.isSet("template") ? args.getString("template") : std::string();
    if (o.templateName.empty())
        fail("template: required (the chat template the model was trained with, e.g. qwen3_nothink)");
    o.dtype = args.getString("infer_dtype");
    o.ropeScaling = args.getString("rope_scaling");
    o.device = device.empty() ? std::string("auto") : device;
    return o;
}

ChatGenerationOptions chatGenerationOptions(const ArgumentSet& args)
{
    ChatGenerationOptions o;
    o.sampling.do_sample = args.getBool("do_sample");
    o.sampling.temperature = args.getFloat("temperature");
    o.sampling.top_p = args.getFloat("top_p");
    o.sampling.top_k = args.getInt("top_k");
    o.sampling.repetition_penalty = args.getFloat("repetition_penalty");
    if (args.isSet("seed"))
        o.sampling.seed = static_cast<std::uint64_t>(args.getInt("seed"));
    if (o.sampling.temperature == 0)
        o.sampling.do_sample = false;
    o.max_new_tokens = args.getInt("max_new_tokens");
    o.chat.enableThinking = args.getBool("enable_thinking");
    if (args.isSet("default_system"))
        o.chat.defaultSystem = args.getString("default_system");
    return o;
}

int runChatCommand(const std::vector<std::string>& argv)
{
    const auto line = parseConfigCommandLine(argv);
    setThreads(line.threads);
    const ArgumentSet& args = line.args;
    if (line.dryRun) {
        std::cout << args.toYaml() << "\n" << args.toCommandLine("lathe chat") << "\n";
        return 0;
    }
    ChatEngine engine(chatModelOptions(args, args.isSet("device") ? args.getString("device") : "auto"));
    const ChatGenerationOptions generation = chatGenerationOptions(args);
    std::signal(SIGINT, onInterrupt);

    std::cout << "Welcome to the CLI application, use `clear` to remove the history, use `exit` to exit the "
                 "application.\n";
    Conversation conversation;
    for (;;) {
        std::cout << "\nUser: " << std::flush;
        std::string input;
        g_interrupt = false;
        if (!std::getline(std::cin, input))
            break;
        if (input == "exit")
            break;
        if (input == "clear") {
            conversation.messages.clear();
            std::cout << "History has been removed.\n";
            continue;
        }
        if (input.empty())
            continue;
        // A bad line is refused, never the end of the conversation (its history stays).
        if (!isValidUtf8(input)) {
            std::cerr << "[ERROR] That line is not valid UTF-8 text; it was not sent (the conversation goes on).\n";
            continue;
        }
        conversation.messages.push_back({Role::User, input});
        std::cout << "Assistant: " << std::flush;
        bool thinking = false;
        ChatReply reply;
        try {
        reply = engine.chat(
            conversation, generation,
            [&](const std::string& reasoning, const std::string& content) {
                if (!reasoning.empty()) {
                    if (!thinking)
                        std::cout << "<think>\n";
                    thinking = true;
                    std::cout << reasoning;
                }
                if (!content.empty()) {
                    if (thinking) {
                        std::cout << "\n</think>\n\n";
                        thinking = false;
                    }
                    std::cout << content;
                }
                std::cout << std::flush;
                return !g_interrupt.load();
            },
            &g_interrupt);
        } catch (const std::exception& e) {
            conversation.messages.pop_back();
            std::cout << "\n" << std::flush;
            std::cerr << "[ERROR] " << e.what() << " (the message was not added; the conversation goes on)\n";
            continue;
        }
        if (thinking)
            std::cout << "\n</think>";
        std::cout << "\n" << std::flush; // before the speed line on stderr
        const double decoded = reply.completionTokens > 1 ? double(reply.completionTokens - 1) : 0.0;
        std::fprintf(stderr, "[%lld tokens, %.1f tokens/s, first token after %.2f s%s]\n",
                     static_cast<long long>(reply.completionTokens),
                     reply.decodeSeconds > 0 ? decoded / reply.decodeSeconds : 0.0, reply.prefillSeconds,
                     reply.finishReason == "cancelled" ? ", stopped"
                     : reply.contextFull              ? ", stopped at the end of the model's context (max_position_embeddings)"
                                                      : "");
        // The history keeps the answer as the model wrote it, thought removed (LLaMA-Factory's chat does the same
        // through the template's remove_thought when it encodes history).
        conversation.messages.push_back({Role::Assistant, reply.text});
    }
    return 0;
}

} // namespace lathe
