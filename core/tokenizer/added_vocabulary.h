// Added tokens (tokenizer.json "added_tokens"): found in the input before anything else and emitted whole,
// exactly as tokenizers' AddedVocabulary does it.
//
// Tokens with normalized=false are matched on the raw input; the text between them is normalized, and then
// tokens with normalized=true are matched on that (against their normalized content). Matching is
// leftmost-longest and non-overlapping; single_word, lstrip and rstrip adjust or reject a match as in
// AddedVocabulary::find_matches. With `skipSpecial` (split_special_tokens) special tokens are not matched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lathe {

using TokenId = std::int32_t;
class Normalizer;

struct AddedToken
{
    TokenId id = 0;
    std::string content;
    /// Control token: skipped by decode(skipSpecialTokens), not matched when special tokens are text.
    bool special = false;
    /// Matched on normalized text (true) or on the raw input (false).
    bool normalized = true;
    /// Also swallow whitespace on the left / right of the match.
    bool lstrip = false;
    bool rstrip = false;
    /// Only match when not inside a word.
    bool singleWord = false;
};

/// A span of the input: an added token (token >= 0, index into AddedVocabulary::tokens()) or text (-1).
struct AddedSplit
{
    std::size_t begin = 0, end = 0;
    int token = -1;
};

class AddedVocabulary
{
public:
    AddedVocabulary() = default;
    /// `normalizer` (may be null) gives the content that normalized tokens are matched against.
    AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer);

    /// Splits `text` on tokens with normalized == `normalizedPass`. Empty text gives no splits.
    void split(std::string_view text, bool normalizedPass, bool skipSpecial, std::vector<AddedSplit>& out) const;

    const std::vector<AddedToken>& tokens() const { return m_tokens; }
    bool empty() const { return m_tokens.empty(); }
    /// The added token with this id, or nullptr.
    const AddedToken* byId(TokenId id) const;
    /// The added token with this content, or nullptr.
    const AddedToken* byContent(std::string_view content) const;

private:
    struct Matcher
    {
        /// Per first byte: (pattern, token index), longest pattern first.
        std::vector<std::vector<std::pair<std::string, int>>> byFirstByte = std::vector<std::vector<std::pair<std::string, int>>>(256);
        bool any = false;
    };
    void findMatches(std::string_view text, const Matcher& matcher, bool skipSpecial,
                     std::vector<AddedSplit>& out) const;

    std::vector<AddedToken> m_tokens;
    std::unordered_map<TokenId, int> m_byId;
    std::unordered_map<std::string, int> m_byContent;
    Matcher m_raw, m_normalized;
};

} // namespace lathe
