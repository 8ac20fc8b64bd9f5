// Added-token matching (see added_vocabulary.h), after tokenizers' added_vocabulary.rs.
#include "tokenizer/added_vocabulary.h"

#include <algorithm>

#include "tokenizer/normalizer.h"
#include "tokenizer/unicode_util.h"

namespace lathe {

namespace {

// Code point ending at `end` (exclusive) in valid UTF-8.
std::uint32_t codePointBefore(std::string_view text, std::size_t end)
{
    std::size_t begin = end - 1;
    while (begin > 0 && (static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80)
        --begin;
    return unicode::nextCodePoint(text, begin);
}

} // namespace

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer)
    : m_tokens(std::move(tokens))
{
    for (int i = 0; i < static_cast<int>(m_tokens.size()); ++i) {
        const AddedToken& t = m_tokens[i];
        m_byId[t.id] = i;
        m_byContent[t.content] = i;
        if (t.content.empty())
            continue;
        Matcher& matcher = t.normalized ? m_normalized : m_raw;
        std::string pattern = t.normalized && normalizer ? normalizer->normalize(t.content) : t.content;
        if (pattern.empty())
            continue;
        matcher.byFirstByte[static_cast<unsigned char>(pattern[0])].emplace_back(std::move(pattern), i);
        matcher.any = true;
    }
    for (Matcher* m : {&m_raw, &m_normalized})
        for (auto& list : m->byFirstByte)
            std::stable_sort(list.begin(), list.end(),
                             [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

const AddedToken* AddedVocabulary::byId(TokenId id) const
{
    const auto it = m_byId.find(id);
    return it == m_byId.end() ? nullptr : &m_tokens[it->second];
}

const AddedToken* AddedVocabulary::byContent(std::string_view content) const
{
    const auto it = m_byContent.find(std::string(content));
    return it == m_byContent.end() ? nullptr : &m_tokens[it->second];
}

void AddedVocabulary::split(std::string_view text, bool normalizedPass, bool skipSpecial,
                            std::vector<AddedSplit>& out) const
{
    if (text.empty())
        return;
    const Matcher& matcher = normalizedPass ? m_normalized : m_raw;
    if (!matcher.any) {
        out.push_back({0, text.size(), -1});
        return;
    }
    findMatches(text, matcher, skipSpecial, out);
}

void AddedVocabulary::findMatches(std::string_view text, const Matcher& matcher, bool skipSpecial,
                                  std::vector<AddedSplit>& out) const
{
    std::size_t startOffset = 0; // end of the previous accepted match
    std::size_t pos = 0;
    while (pos < text.size()) {
        // Leftmost-longest match at `pos`, as the Aho-Corasick automaton finds it.
        const auto& candidates = matcher.byFirstByte[static_cast<unsigned char>(text[pos])];
        int found = -1;
        std::size_t foundLen = 0;
        for (const auto& [pattern, index] : candidates)
            if (text.compare(pos, pattern.size(), pattern) == 0) {
                found = index;
                foundLen = pattern.size();
                break;
            }
        if (found < 0) {
            ++pos;
            continue;
        }
        std::size_t start = pos, stop = pos + foundLen;
        pos = stop; // the automaton resumes after the match, whether it is used or not
        const AddedToken& token = m_tokens[found];
        if (skipSpecial && token.special)
            continue;
        if (token.singleWord) {
            const bool startSpace = start == 0 || !unicode::isWordChar(codePointBefore(text, start));
            std::size_t after = stop;
            const bool stopSpace = stop == text.size() || !unicode::isWordChar(unicode::nextCodePoint(text, after));
            if (!startSpace || !stopSpace)
                continue;
        }
        if (token.lstrip) {
            std::size_t newStart = start;
            while (newStart > 0) {
                std::size_t b = newStart - 1;
                while (b > 0 && (static_cast<unsigned char>(text[b]) & 0xC0) == 0x80)
                    --b;
                std::size_t p = b;
                if (!unicode::isWhitespace(unicode::nextCodePoint(text, p)))
                    break;
                newStart = b;
            }
            start = std::max(newStart, startOffset);
        }
        if (token.rstrip) {
            while (stop < text.size()) {
                std::size_t p = stop;
                if (!unicode::isWhitespace(unicode::nextCodePoint(text, p)))
                    break;
                stop = p;
            }
            pos = std::max(pos, stop);
        }
        if (startOffset < start)
            out.push_back({startOffset, start, -1});
        out.push_back({start, stop, found});
        startOffset = stop;
    }
    if (startOffset < text.size())
        out.push_back({startOffset, text.size(), -1});
}

} // namespace lathe
