// Which of Lathe's chat templates a model folder speaks, from its own files: the tokenizer's Jinja chat template
// (tokenizer_config.json's chat_template, or chat_template.jinja) recognised by the markers each family's template
// writes, with config.json's model_type to tell family members apart. The window uses it after the catalogue
// (LLaMA-Board's rule gives base models "default"), and warns when the chosen template differs.
#pragma once

#include <optional>
#include <string>

namespace lathe {

struct TemplateGuess
{
    std::string name;   ///< a template of chatTemplateNames()
    std::string source; ///< the file it was read from ("tokenizer_config.json", "chat_template.jinja")
};

/// The guess for `modelDir`, or nothing (no chat template, or one Lathe does not recognise). Never throws: a
/// missing or broken file is no guess.
std::optional<TemplateGuess> detectChatTemplate(const std::string& modelDir);

/// The family part of a template name ("qwen3" for "qwen3_nothink"): two templates of one family prompt alike.
std::string templateFamily(const std::string& name);

} // namespace lathe
