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
        conversation.messages.push_back({Role::User, input});
        std::cout << "Assistant: " << std::flush;
        bool thinking = false;
        const ChatReply reply = engine.chat(
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
        if (thinking)
            std::cout << "\n</think>";
        std::cout << "\n" << std::flush; // before the speed line on stderr
        const double decoded = reply.completionTokens > 1 ? double(reply.completionTokens - 1) : 0.0;
        std::fprintf(stderr, "[%lld tokens, %.1f tokens/s, first token after %.2f s%s]\n",
                     static_cast<long long>(reply.completionTokens),
                     reply.decodeSeconds > 0 ? decoded / reply.decodeSeconds : 0.0, reply.prefillSeconds,
                     reply.finishReason == "cancelled" ? ", stopped" : "");
        // The history keeps the answer as the model wrote it, thought removed (LLaMA-Factory's chat does the same
        // through the template's remove_thought when it encodes history).
        conversation.messages.push_back({Role::Assistant, reply.text});
    }
    return 0;
}

} // namespace lathe
