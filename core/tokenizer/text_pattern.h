// The "pattern" of Split pre-tokenizers and Replace normalizers/decoders: {"String": "..."} (a literal) or
// {"Regex": "..."} (compiled with PCRE2), with find-all and replace-all.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/regex.h"

namespace lathe {

class TextPattern
{
public:
    /// A literal pattern.
    explicit TextPattern(std::string literal) : m_literal(std::move(literal)) {}
    /// A regular expression pattern.
    explicit TextPattern(std::shared_ptr<const Regex> regex) : m_regex(std::move(regex)) {}

    /// Non-empty, non-overlapping matches, as [begin, end) byte offsets (appended to `out`).
    void findAll(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const;
    /// `text` with every match replaced by `content`.
    std::string replaceAll(std::string_view text, const std::string& content) const;

private:
    std::string m_literal;
    std::shared_ptr<const Regex> m_regex;
};

/// Reads node[key] as {"String": s} or {"Regex": r}; errors name `where`.
TextPattern requirePattern(const nlohmann::json& node, const char* key, const std::string& where);

} // namespace lathe
