// Rendering a model's own Jinja chat template (see hf_chat_template.h).
#include "template/hf_chat_template.h"

#include "template/python_json.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace lathe {

HfChatTemplate::HfChatTemplate(const std::string& source, HfSpecialTokens tokens, std::string name)
    : m_template(source, std::move(name)), m_tokens(std::move(tokens))
{
}

HfChatTemplate HfChatTemplate::fromTokenizer(const Tokenizer& tokenizer, const std::string& modelName,
                                             const std::string& templateName)
{
    HfSpecialTokens tokens{tokenizer.bosToken, tokenizer.eosToken, tokenizer.unkToken, tokenizer.padToken};
    if (!templateName.empty() && templateName != "default") {
        std::string names = "default";
        for (const auto& [name, source] : tokenizer.namedChatTemplates) {
            if (name == templateName)
                return HfChatTemplate(source, tokens, modelName + " chat_template " + name);
            names += ", " + name;
        }
        fail(modelName, ": the tokenizer has no chat template named \"", templateName, "\" (it has: ", names, ")");
    }
    if (tokenizer.chatTemplate.empty())
        fail(modelName, ": the tokenizer has no chat template (tokenizer_config.json has no chat_template and "
                        "there is no chat_template.jinja); pick a template by name instead");
    return HfChatTemplate(tokenizer.chatTemplate, tokens, modelName + " chat_template");
}

std::string HfChatTemplate::render(const nlohmann::ordered_json& messages, const HfChatOptions& options) const
{
    // apply_chat_template's variables: messages, tools, add_generation_prompt, the special tokens, kwargs.
    nlohmann::ordered_json context = nlohmann::ordered_json::object();
    context["messages"] = messages;
    if (!options.tools.is_null())
        context["tools"] = options.tools;
    context["add_generation_prompt"] = options.addGenerationPrompt;
    const std::pair<const char*, const std::string*> specials[] = {
        {"bos_token", &m_tokens.bos}, {"eos_token", &m_tokens.eos}, {"unk_token", &m_tokens.unk},
        {"pad_token", &m_tokens.pad}};
    for (const auto& [key, value] : specials)
        if (!value->empty())
            context[key] = *value;
    if (options.extra.is_object())
        for (auto it = options.extra.begin(); it != options.extra.end(); ++it)
            context[it.key()] = it.value();
    jinja::RenderOptions render;
    render.limits = options.limits;
    render.now = options.now;
    return m_template.render(context, render);
}

nlohmann::ordered_json hfMessages(const Conversation& conversation)
{
    using Json = nlohmann::ordered_json;
    Json messages = Json::array();
    if (!conversation.system.empty())
        messages.push_back({{"role", "system"}, {"content", conversation.system}});
    for (const Message& m : conversation.messages) {
        switch (m.role) {
        case Role::User: messages.push_back({{"role", "user"}, {"content", m.content}}); break;
        case Role::Assistant: messages.push_back({{"role", "assistant"}, {"content", m.content}}); break;
        case Role::Observation: messages.push_back({{"role", "tool"}, {"content", m.content}}); break;
        case Role::Function: {
            Json calls = parsePythonJson(m.content, "function message");
            if (!calls.is_array())
                calls = Json::array({calls});
            Json toolCalls = Json::array();
            for (const Json& call : calls) {
                if (!call.is_object() || !call.contains("name"))
                    fail("function message: each call needs \"name\" and \"arguments\" (", m.content.substr(0, 200),
                         ")");
                Json arguments = call.contains("arguments") ? call["arguments"] : Json::object();
                if (arguments.is_string()) // some datasets store the arguments as JSON text
                    arguments = parsePythonJson(arguments.get<std::string>(), "function message arguments");
                toolCalls.push_back(
                    {{"type", "function"}, {"function", {{"name", call["name"]}, {"arguments", arguments}}}});
            }
            messages.push_back({{"role", "assistant"}, {"content", ""}, {"tool_calls", toolCalls}});
            break;
        }
        }
    }
    return messages;
}

nlohmann::ordered_json hfTools(const std::string& toolsJson)
{
    using Json = nlohmann::ordered_json;
    if (toolsJson.empty())
        return nullptr;
    Json tools = parsePythonJson(toolsJson, "tools");
    if (!tools.is_array())
        tools = Json::array({tools});
    Json out = Json::array();
    for (const Json& tool : tools) {
        if (tool.is_object() && tool.contains("type") && tool.contains("function"))
            out.push_back(tool); // already OpenAI-style
        else
            out.push_back({{"type", "function"}, {"function", tool}});
    }
    return out;
}

} // namespace lathe
