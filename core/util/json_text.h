// JSON text from outside the program (model files, datasets, configs, request bodies), parsed with its nesting
// bounded first.
//
// nlohmann's parser is iterative, but what follows a parse is not: copying, comparing, dumping and destroying a
// value recurse once per level, so `[[[[...]]]]` nested 300,000 deep (600 KB) overflows the stack. No file or
// request Lathe reads legitimately nests deeper than a few levels; jsonNesting() counts the depth in one pass
// without recursion, before nlohmann sees the text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "util/error.h"

namespace lathe {

/// Deepest nesting of arrays and objects in JSON text (strings skipped); counted without recursion.
std::size_t jsonNesting(std::string_view text);

/// The nesting any JSON input may have.
constexpr std::size_t kMaxJsonNesting = 256;

/// Throws lathe::Error "<what>: JSON nests deeper than N levels" when `text` does.
void checkJsonNesting(std::string_view text, const std::string& what, std::size_t maxNesting = kMaxJsonNesting);

/// Parses `text` as J (nlohmann::json or ordered_json) after checkJsonNesting; a syntax error is J's
/// parse_error, for the caller to word. A number too large for a double (1e99999), which nlohmann reports as
/// out_of_range rather than parse_error, throws lathe::Error "<what>: not valid JSON: ...".
template <typename J>
J parseJson(std::string_view text, const std::string& what, std::size_t maxNesting = kMaxJsonNesting)
{
    checkJsonNesting(text, what, maxNesting);
    try {
        return J::parse(text.begin(), text.end());
    } catch (const typename J::out_of_range& e) {
        fail(what, ": not valid JSON: ", e.what());
    }
}

/// The same, returning a discarded value on a syntax error instead of throwing.
template <typename J>
J parseJsonOrDiscard(std::string_view text, const std::string& what, std::size_t maxNesting = kMaxJsonNesting)
{
    checkJsonNesting(text, what, maxNesting);
    return J::parse(text.begin(), text.end(), nullptr, false);
}

} // namespace lathe
