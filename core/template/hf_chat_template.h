// A model's own chat template: the Jinja in its tokenizer files (tokenizer_config.json `chat_template`, a
// string or a list of named templates, or chat_template.jinja), rendered as transformers' apply_chat_template
// renders it: `messages`, `tools`, `add_generation_prompt`, the tokenizer's special tokens (bos_token,
// eos_token, unk_token, pad_token) and any extra flags (`enable_thinking`, ...).
//
// This is the other way to write a prompt besides LLaMA-Factory's templates (chat_template.h): the text the
// model's authors wrote, as llama.cpp, Ollama and transformers see it. template_jinja.h converts between the
// two (parse_template, get_jinja_template).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "template/conversation.h"
#include "template/jinja/jinja.h"

namespace lathe {

class Tokenizer;

/// The special-token strings a template can use.
struct HfSpecialTokens
{
    std::string bos, eos, unk, pad;
};

struct HfChatOptions
{
    /// OpenAI-style tool list ([{"type": "function", "function": {...}}]); null leaves `tools` undefined.
    nlohmann::ordered_json tools;
    bool addGenerationPrompt = false;
    /// Further template variables (enable_thinking, date_string, ...), as apply_chat_template's kwargs.
    nlohmann::ordered_json extra = nlohmann::ordered_json::object();
    /// The time strftime_now() formats; unset: now.
    std::optional<std::chrono::system_clock::time_point> now;
    jinja::Limits limits;
};

class HfChatTemplate
{
public:
    /// Parses `source` (throws jinja::JinjaError naming `name`, line and column).
    HfChatTemplate(const std::string& source, HfSpecialTokens tokens, std::string name);

    /// The tokenizer's own template (Tokenizer::chatTemplate), or with `templateName` one of its named templates
    /// ("tool_use"); throws lathe::Error when it has none (naming the ones it has).
    static HfChatTemplate fromTokenizer(const Tokenizer& tokenizer, const std::string& modelName,
                                        const std::string& templateName = {});

    /// The prompt for `messages` (OpenAI-style: role, content, tool_calls, ...). Throws jinja::JinjaError,
    /// raisedByTemplate() when the template itself refused the conversation.
    std::string render(const nlohmann::ordered_json& messages, const HfChatOptions& options = {}) const;

    const std::string& source() const { return m_template.source(); }
    const std::string& name() const { return m_template.name(); }
    const HfSpecialTokens& tokens() const { return m_tokens; }

private:
    jinja::Template m_template;
    HfSpecialTokens m_tokens;
};

/// LLaMA-Factory's aligned conversation as the messages HF templates take: the system prompt first (when
/// not empty), user/assistant as they are, a function turn as an assistant message with `tool_calls`
/// (arguments as objects) and empty content, an observation as a `tool` message.
nlohmann::ordered_json hfMessages(const Conversation& conversation);

/// A dataset's tool list (JSON list of function schemas) as HF templates take it: each wrapped as
/// {"type": "function", "function": schema}. Null for an empty text. Throws lathe::Error for invalid JSON.
nlohmann::ordered_json hfTools(const std::string& toolsJson);

} // namespace lathe
