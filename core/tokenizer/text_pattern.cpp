// Literal or regex patterns of tokenizer.json (see text_pattern.h).
#include "tokenizer/text_pattern.h"

#include <nlohmann/json.hpp>

#include "tokenizer/json_fields.h"

namespace lathe {

void TextPattern::findAll(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const
{
    if (m_regex) {
        m_regex->findAll(text, out);
        return;
    }
    if (m_literal.empty())
        return;
    std::size_t pos = 0;
    while ((pos = text.find(m_literal, pos)) != std::string_view::npos) {
        out.emplace_back(pos, pos + m_literal.size());
        pos += m_literal.size();
    }
}

std::string TextPattern::replaceAll(std::string_view text, const std::string& content) const
{
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    findAll(text, matches);
    if (matches.empty())
        return std::string(text);
    std::string out;
    out.reserve(text.size() + matches.size() * content.size());
    std::size_t prev = 0;
    for (const auto& [begin, end] : matches) {
        out.append(text.substr(prev, begin - prev));
        out += content;
        prev = end;
    }
    out.append(text.substr(prev));
    return out;
}

TextPattern requirePattern(const nlohmann::json& node, const char* key, const std::string& where)
{
    const nlohmann::json& pattern = requireField(node, key, where);
    const std::string here = cat(where, ".", key);
    if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string())
        return TextPattern(pattern["String"].get<std::string>());
    if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string())
        return TextPattern(std::make_shared<const Regex>(pattern["Regex"].get<std::string>(), here));
    fail(here, ": expected {\"String\": ...} or {\"Regex\": ...}, got ", pattern.dump());
}

} // namespace lathe
