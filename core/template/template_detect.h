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
    std::string name;   ///< a template of chatTemplateNames(), or "auto" for a Jinja of no family Lathe knows
    std::string source; ///< the file it was read from ("tokenizer_config.json", "chat_template.jinja")
};

/// The guess for `modelDir`: a registered template, "auto" when the folder has a chat template Lathe does not
/// recognise (template_jinja.h builds the template from it), or nothing when it has none. Never throws: a
/// missing or broken file is no guess.
std::optional<TemplateGuess> detectChatTemplate(const std::string& modelDir);

/// The family part of a template name ("qwen3" for "qwen3_nothink"): two templates of one family prompt alike.
std::string templateFamily(const std::string& name);

} // namespace lathe
