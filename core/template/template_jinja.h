// LLaMA-Factory's templates and a model's Jinja chat template, each turned into the other.
//
//  - jinjaFromTemplate: Template._get_jinja_template (Llama2Template's for the Llama2 class): the template a
//    model was trained with, as Jinja, for exports (tokenizer_config.json, the GGUF's tokenizer.chat_template),
//    so llama.cpp, Ollama and transformers prompt the model as training did.
//  - templateFromJinja: parse_template: with `template: auto` (or none), the slots read back from the
//    tokenizer's own Jinja, so a chat model of any family trains with its own format.
//  - jinjaAgreesWithTemplate / exportChatTemplate: whether the tokenizer's Jinja already writes the training
//    prompts; the export keeps it (with its tool support) only then.
#pragma once

#include <string>
#include <vector>

#include "template/chat_format.h"
#include "template/chat_template.h"
#include "template/hf_chat_template.h"

namespace lathe {

class Tokenizer;

/// The template as Jinja, LLaMA-Factory's get_jinja_template: prefix, default system, the system prompt (a turn
/// of its own, or merged into the first user turn for the Llama2 class), user and assistant turns; `tokens` are
/// the BOS/EOS texts written for {"bos_token"}/{"eos_token"} slots (EOS after replace_eos). Beyond
/// LLaMA-Factory: {"token": x} slots are written as their text (LLaMA-Factory gives up on them), and reasoning
/// templates drop the chain of thought of history turns and end a prompt with the empty thought block when
/// `enable_thinking` is false, as the encoder does. Tool calls and results are not written (as in
/// LLaMA-Factory).
std::string jinjaFromTemplate(const ChatTemplate& tpl, const SpecialTokenText& tokens);

/// LLaMA-Factory's parse_template: the prefix (decode(encode(""))), system, user and assistant slots and the
/// default system prompt read from the renderings of placeholder conversations; a ReasoningTemplate when the
/// assistant turn carries <think>. Beyond LLaMA-Factory: the tool format is the one the Jinja writes calls in
/// (<tool_call>: qwen, [TOOL_CALLS]: mistral, <|observation|>: glm4, ipython: llama3; else default), a special
/// token that ends the assistant turn (and is not EOS) becomes a stop word, and a BOS the template writes itself is the prefix even when the tokenizer
/// adds none (LLaMA-Factory then repeats it in every user turn). Throws jinja::JinjaError when the template cannot render them.
ChatTemplate templateFromJinja(const HfChatTemplate& hf, const Tokenizer& tokenizer, const std::string& name = "auto");

/// Whether `name` asks for the template to be parsed from the tokenizer ("auto" or empty; "jinja" and
/// "jinja:NAME", which render inference prompts with the tokenizer's Jinja itself, take their stop words and tool
/// format from it too).
bool isAutoTemplateName(const std::string& name);

/// The template a `template` setting means for this tokenizer: a registered name, or with "auto"/empty the
/// tokenizer's Jinja parsed (the `empty` template when it has none, as LLaMA-Factory). `note` (optional)
/// receives a line for the log saying where an automatic template came from.
ChatTemplate resolveChatTemplate(const std::string& name, const Tokenizer& tokenizer, const std::string& modelName,
                                 std::string* note = nullptr);

/// Whether the model's own Jinja writes the same text as the template on plain conversations (with and without
/// a system prompt, multi-turn, generation prompts, thinking on and off for reasoning templates). On a
/// difference, `why` (optional) says which conversation and where.
bool jinjaAgreesWithTemplate(const HfChatTemplate& hf, const ChatTemplate& tpl, const SpecialTokenText& tokens,
                             std::string* why = nullptr);

/// The chat template an export should carry for a model trained with `tpl`.
struct ExportChatTemplate
{
    enum class Why
    {
        TokenizerHasNone, ///< the tokenizer has no chat template: the generated one
        TemplateReplaces, ///< replace_jinja_template (alpaca, chatml, default...): the generated one
        TokenizerAgrees,  ///< the tokenizer's own writes the same prompts: kept
        TokenizerDiffers, ///< the tokenizer's own writes other prompts (`detail`): the generated one
        ParsedFromTokenizer, ///< `template: auto`: the template came from the tokenizer's own, which is kept
    };
    std::string jinja;      ///< the template text
    bool generated = false; ///< true: jinjaFromTemplate; false: the tokenizer's own, kept
    Why why = Why::TokenizerHasNone;
    std::string detail;     ///< TokenizerDiffers: which probe and where the texts part
    std::string reason;     ///< the whole decision in a sentence (English, for logs)
};

/// LLaMA-Factory's fix_jinja_template rule, made safe: the tokenizer's own Jinja is kept only when the template
/// does not ask for replacement (replace_jinja_template) and the Jinja agrees with it; otherwise the generated
/// one. Only prompts are compared (what llama.cpp, Ollama and servers render), not training text.
ExportChatTemplate exportChatTemplate(const ChatTemplate& tpl, const Tokenizer& tokenizer, const std::string& modelName);

/// The same for a given Jinja text (empty: none) and the model's special tokens.
ExportChatTemplate exportChatTemplate(const ChatTemplate& tpl, const std::string& modelJinja,
                                      const HfSpecialTokens& modelTokens, const std::string& modelName);

} // namespace lathe
