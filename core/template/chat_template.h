// LLaMA-Factory's chat templates as data: the slots each turn is written with, default system prompt, stop
// words and the EOS rules, looked up by name ("qwen3", "llama3", ...).
//
// A template is the same record LLaMA-Factory's `register_template` fills (data/template.py): formatters
// are lists of slots, a slot being text with `{{content}}` (and `{{name}}`/`{{idx}}`) placeholders, a
// literal token (`{"token": "<x>"}`) or the tokenizer's BOS/EOS. Three encoder behaviours exist: the plain
// `Template`, `Llama2Template` (system text merged into the first user turn) and `ReasoningTemplate`
// (thinking blocks). The table itself is in template_table.cpp; formatting is in chat_format.h.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace lathe {

/// One element of a formatter: text to tokenize, a literal token, or the tokenizer's BOS/EOS.
struct Slot
{
    enum class Kind
    {
        Text,  ///< a string, tokenized with add_special_tokens=False (placeholders substituted first)
        Token, ///< `{"token": text}`: exactly one id, the vocabulary id of `text`
        Bos,   ///< `{"bos_token"}`: the tokenizer's BOS id, skipped when it has none
        Eos,   ///< `{"eos_token"}`: the tokenizer's EOS id (after replace_eos), skipped when it has none
    };
    Kind kind = Kind::Text;
    std::string text; ///< the text (Text) or token string (Token); empty for Bos/Eos

    static Slot str(std::string s) { return {Kind::Text, std::move(s)}; }
    static Slot token(std::string s) { return {Kind::Token, std::move(s)}; }
    static Slot bos() { return {Kind::Bos, {}}; }
    static Slot eos() { return {Kind::Eos, {}}; }
    bool operator==(const Slot& other) const { return kind == other.kind && text == other.text; }
};
using Slots = std::vector<Slot>;

/// Which of LLaMA-Factory's Template classes encodes with this template.
enum class TemplateClass
{
    Plain,     ///< `Template`
    Llama2,    ///< `Llama2Template`: the formatted system text is prepended to the first user content
    Reasoning, ///< `ReasoningTemplate`: chain-of-thought handling (enable_thinking, empty think blocks)
};

/// How tools are described in the system prompt and how calls are written (`tool_format`).
enum class ToolFormat
{
    Default, ///< ReAct-style "Action: name\nAction Input: {json}"
    Qwen,    ///< `<tools>` JSON lines in the system prompt, `<tool_call>` JSON calls
    Llama3,  ///< JSON tool list after a "Cutting Knowledge Date" header, {"name", "parameters"} calls
    Glm4,    ///< GLM-4's Chinese tool prompt, "name\n{args}" calls
    Mistral, ///< [AVAILABLE_TOOLS] [...][/AVAILABLE_TOOLS], JSON list calls
};

struct ChatTemplate
{
    std::string name;
    TemplateClass templateClass = TemplateClass::Plain;

    Slots formatUser;        ///< a user turn (placeholders {{content}}, {{idx}})
    Slots formatAssistant;   ///< an assistant turn
    Slots formatSystem;      ///< the system prompt (+ tool text), written before the first turn
    Slots formatFunction;    ///< a function-call turn; {{content}} is the formatted call text
    Slots formatObservation; ///< a tool result turn
    Slots formatPrefix;      ///< written once at the start (no placeholders)
    ToolFormat toolFormat = ToolFormat::Default; ///< for format_tools and format_function

    std::string defaultSystem;          ///< used when the conversation has no system prompt
    std::vector<std::string> stopWords; ///< generation stops on these (and EOS)
    std::pair<std::string, std::string> thoughtWords{"<think>\n", "\n</think>\n\n"};
    std::pair<std::string, std::string> toolCallWords{"<tool_call>", "</tool_call>"};
    bool efficientEos = false;         ///< EOS only once at the end of a training sequence, not per turn
    bool replaceEos = false;           ///< the tokenizer's EOS becomes stopWords[0]
    bool replaceJinjaTemplate = false; ///< LLaMA-Factory overwrites the tokenizer's Jinja template
};

/// The template registered under `name`. Throws lathe::Error listing every known name otherwise.
const ChatTemplate& chatTemplate(const std::string& name);

/// Whether a template of that name exists.
bool hasChatTemplate(const std::string& name);

/// Every template name, in registration order.
std::vector<std::string> chatTemplateNames();

/// The EOS token text a template uses with a tokenizer whose own EOS is `tokenizerEos` (empty when none):
/// stopWords[0] with replace_eos, "<|endoftext|>" when the tokenizer has none (LLaMA-Factory's
/// fix_special_tokens).
std::string effectiveEosToken(const ChatTemplate& tpl, const std::string& tokenizerEos);

} // namespace lathe
