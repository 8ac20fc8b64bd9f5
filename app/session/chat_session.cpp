// A torch-free face of ChatEngine (see chat_session.h).
#include "session/chat_session.h"

#include <nlohmann/json.hpp>

#include "generation/chat_engine.h"
#include "util/error.h"

namespace lathe {

namespace {

Role toRole(ChatTurnRole role)
{
    switch (role) {
    case ChatTurnRole::User: return Role::User;
    case ChatTurnRole::Assistant: return Role::Assistant;
    case ChatTurnRole::Observation: return Role::Observation;
    case ChatTurnRole::Function: return Role::Function;
    }
    return Role::User;
}

} // namespace

struct ChatSession::Impl
{
    std::unique_ptr<ChatEngine> engine;
};

double ChatSessionReply::tokensPerSecond() const
{
    const double decoded = completionTokens > 1 ? double(completionTokens - 1) : 0.0;
    return decodeSeconds > 0 ? decoded / decodeSeconds : 0.0;
}

std::string ChatSessionReply::toolCallsJson() const
{
    if (toolCalls.empty())
        return {};
    nlohmann::json list = nlohmann::json::array();
    for (const auto& call : toolCalls) {
        nlohmann::json arguments = nlohmann::json::parse(call.arguments, nullptr, false);
        if (arguments.is_discarded())
            arguments = call.arguments;
        list.push_back({{"name", call.name}, {"arguments", arguments}});
    }
    return list.dump(2);
}

ChatSession::ChatSession() : m_impl(std::make_unique<Impl>()) {}

ChatSession::~ChatSession() = default;

void ChatSession::load(const ChatSessionOptions& options)
{
    if (options.modelDir.empty())
        fail("model_name_or_path: required (the model folder to chat with)");
    if (options.templateName.empty())
        fail("template: required (the chat template the model was trained with)");
    m_impl->engine.reset();
    ChatModelOptions o;
    o.modelDir = options.modelDir;
    o.adapters = options.adapters;
    o.templateName = options.templateName;
    o.dtype = options.dtype.empty() ? std::string("auto") : options.dtype;
    o.device = options.device.empty() ? std::string("auto") : options.device;
    o.ropeScaling = options.ropeScaling;
    m_impl->engine = std::make_unique<ChatEngine>(o);
}

void ChatSession::unload()
{
    m_impl->engine.reset();
}

bool ChatSession::isLoaded() const
{
    return m_impl->engine != nullptr;
}

std::string ChatSession::templateName() const
{
    return m_impl->engine ? m_impl->engine->templateName() : std::string();
}

ChatSessionReply ChatSession::chat(const ChatSessionRequest& request, const ChatSessionDelta& onDelta,
                                   const std::atomic<bool>* cancel)
{
    if (!m_impl->engine)
        fail("no model is loaded: load a model first");
    Conversation conversation;
    conversation.system = request.system;
    conversation.tools = request.tools;
    for (const auto& turn : request.turns)
        conversation.messages.push_back({toRole(turn.role), turn.content});

    ChatGenerationOptions o;
    o.max_new_tokens = request.maxNewTokens;
    o.sampling.temperature = request.temperature;
    o.sampling.top_p = request.topP;
    o.sampling.do_sample = request.temperature > 0;
    o.sampling.seed = request.seed;
    o.chat.enableThinking = request.enableThinking;
    o.skip_special_tokens = request.skipSpecialTokens;

    const ChatReply reply = m_impl->engine->chat(conversation, o, onDelta, cancel);
    ChatSessionReply r;
    r.text = reply.text;
    r.reasoning = reply.reasoning;
    r.content = reply.content;
    for (const auto& call : reply.toolCalls)
        r.toolCalls.push_back({call.name, call.arguments});
    r.promptTokens = reply.promptTokens;
    r.completionTokens = reply.completionTokens;
    r.finishReason = reply.finishReason;
    r.prefillSeconds = reply.prefillSeconds;
    r.decodeSeconds = reply.decodeSeconds;
    return r;
}

} // namespace lathe
