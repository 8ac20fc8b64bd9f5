// tokenizer.json pre-tokenizers (see pre_tokenizer.h), mirroring tokenizers' pre_tokenizers/*.rs and
// NormalizedString::split for the delimiter behaviours.
#include "tokenizer/pre_tokenizer.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "tokenizer/json_fields.h"
#include "tokenizer/text_pattern.h"
#include "tokenizer/unicode_util.h"
#include "util/error.h"

namespace lathe {

namespace {

using nlohmann::json;
using Span = std::pair<std::size_t, std::size_t>;

// GPT-2's pattern, used by ByteLevel when use_regex is true.
const char* const kGpt2Regex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

enum class Behavior
{
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
};

Behavior parseBehavior(const std::string& name, const std::string& where)
{
    if (name == "Removed")
        return Behavior::Removed;
    if (name == "Isolated")
        return Behavior::Isolated;
    if (name == "MergedWithPrevious")
        return Behavior::MergedWithPrevious;
    if (name == "MergedWithNext")
        return Behavior::MergedWithNext;
    if (name == "Contiguous")
        return Behavior::Contiguous;
    fail(where, ".behavior: \"", name, "\" is not a split behavior");
}

// NormalizedString::split: `matches` are the pattern's matches; the pieces between them are non-matches.
void splitPiece(const std::string& piece, const std::vector<Span>& matches, Behavior behavior, bool invert,
                std::vector<std::string>& out)
{
    struct Part
    {
        std::size_t begin, end;
        bool isMatch;
    };
    std::vector<Part> parts;
    parts.reserve(matches.size() * 2 + 1);
    std::size_t prev = 0;
    for (const auto& [b, e] : matches) {
        if (prev != b)
            parts.push_back({prev, b, invert});
        parts.push_back({b, e, !invert});
        prev = e;
    }
    if (prev != piece.size())
        parts.push_back({prev, piece.size(), invert});

    std::vector<Part> kept; // isMatch here means "remove"
    kept.reserve(parts.size());
    switch (behavior) {
    case Behavior::Isolated:
        for (const auto& p : parts)
            kept.push_back({p.begin, p.end, false});
        break;
    case Behavior::Removed:
        kept = parts;
        break;
    case Behavior::Contiguous: {
        int previous = -1;
        for (const auto& p : parts) {
            if (previous == static_cast<int>(p.isMatch) && !kept.empty())
                kept.back().end = p.end;
            else
                kept.push_back({p.begin, p.end, false});
            previous = p.isMatch;
        }
        break;
    }
    case Behavior::MergedWithPrevious: {
        bool previousMatch = false;
        for (const auto& p : parts) {
            if (p.isMatch && !previousMatch && !kept.empty())
                kept.back().end = p.end;
            else
                kept.push_back({p.begin, p.end, false});
            previousMatch = p.isMatch;
        }
        break;
    }
    case Behavior::MergedWithNext: {
        bool previousMatch = false;
        for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
            if (it->isMatch && !previousMatch && !kept.empty())
                kept.back().begin = it->begin;
            else
                kept.push_back({it->begin, it->end, false});
            previousMatch = it->isMatch;
        }
        std::reverse(kept.begin(), kept.end());
        break;
    }
    }
    for (const auto& p : kept)
        if (!p.isMatch && p.end > p.begin)
            out.emplace_back(piece, p.begin, p.end - p.begin);
}

class SplitPreTokenizer final : public PreTokenizer
{
public:
    SplitPreTokenizer(TextPattern pattern, Behavior behavior, bool invert)
        : m_pattern(std::move(pattern)), m_behavior(behavior), m_invert(invert)
    {
    }
    void apply(std::vector<std::string>& pieces, bool) const override
    {
        std::vector<std::string> out;
        out.reserve(pieces.size() * 4);
        std::vector<Span> matches;
        for (const auto& piece : pieces) {
            matches.clear();
            m_pattern.findAll(piece, matches);
            splitPiece(piece, matches, m_behavior, m_invert, out);
        }
        pieces.swap(out);
    }

private:
    TextPattern m_pattern;
    Behavior m_behavior;
    bool m_invert;
};

class ByteLevelPreTokenizer final : public PreTokenizer
{
public:
    ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : m_addPrefixSpace(addPrefixSpace)
    {
        if (useRegex)
            m_split = std::make_unique<SplitPreTokenizer>(
                TextPattern(std::make_shared<const Regex>(kGpt2Regex, "ByteLevel pre-tokenizer")), Behavior::Isolated,
                false);
    }
    void apply(std::vector<std::string>& pieces, bool atStart) const override
    {
        if (m_addPrefixSpace)
            for (auto& piece : pieces)
                if (!piece.empty() && piece[0] != ' ')
                    piece.insert(piece.begin(), ' ');
        if (m_split)
            m_split->apply(pieces, atStart);
        // Each byte's character of the alphabet is one or two UTF-8 bytes (code points below U+0800): written
        // straight into the buffer, not appended as a string per byte.
        static const auto table = [] {
            std::array<std::array<char, 3>, 256> t{}; // [length, byte, byte]
            const auto& alphabet = unicode::byteLevelAlphabet();
            for (int b = 0; b < 256; ++b) {
                const std::string& ch = alphabet[std::size_t(b)];
                if (ch.empty() || ch.size() > 2)
                    fail("ByteLevel alphabet: byte ", b, " maps to ", ch.size(), " UTF-8 bytes");
                t[std::size_t(b)] = {char(ch.size()), ch[0], ch.size() > 1 ? ch[1] : '\0'};
            }
            return t;
        }();
        std::string mapped;
        for (auto& piece : pieces) {
            mapped.resize(piece.size() * 2);
            char* out = mapped.data();
            for (const char c : piece) {
                const auto& e = table[static_cast<unsigned char>(c)];
                out[0] = e[1];
                out[1] = e[2];
                out += e[0];
            }
            mapped.resize(std::size_t(out - mapped.data()));
            piece.swap(mapped);
        }
    }

private:
    bool m_addPrefixSpace;
    std::unique_ptr<SplitPreTokenizer> m_split;
};

class MetaspacePreTokenizer final : public PreTokenizer
{
public:
    enum class Prepend
    {
        Always,
        First,
        Never,
    };
    MetaspacePreTokenizer(std::string replacement, Prepend prepend, bool split)
        : m_replacement(std::move(replacement)), m_prepend(prepend), m_split(split)
    {
    }
    void apply(std::vector<std::string>& pieces, bool atStart) const override
    {
        std::vector<std::string> out;
        std::vector<Span> matches;
        for (std::size_t i = 0; i < pieces.size(); ++i) {
            std::string text;
            text.reserve(pieces[i].size() + m_replacement.size());
            for (const char c : pieces[i]) {
                if (c == ' ')
                    text += m_replacement;
                else
                    text += c;
            }
            const bool startsWithReplacement = text.compare(0, m_replacement.size(), m_replacement) == 0;
            if (!text.empty() && !startsWithReplacement &&
                (m_prepend == Prepend::Always || (m_prepend == Prepend::First && i == 0 && atStart)))
                text.insert(0, m_replacement);
            if (!m_split) {
                if (!text.empty())
                    out.push_back(std::move(text));
                continue;
            }
            matches.clear();
            TextPattern(m_replacement).findAll(text, matches);
            splitPiece(text, matches, Behavior::MergedWithNext, false, out);
        }
        pieces.swap(out);
    }

private:
    std::string m_replacement;
    Prepend m_prepend;
    bool m_split;
};

class SequencePreTokenizer final : public PreTokenizer
{
public:
    explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts) : m_parts(std::move(parts)) {}
    void apply(std::vector<std::string>& pieces, bool atStart) const override
    {
        for (const auto& part : m_parts)
            part->apply(pieces, atStart);
    }

private:
    std::vector<std::unique_ptr<PreTokenizer>> m_parts;
};

std::unique_ptr<PreTokenizer> regexSplit(const char* regex, Behavior behavior, bool invert, const std::string& where)
{
    return std::make_unique<SplitPreTokenizer>(TextPattern(std::make_shared<const Regex>(regex, where)), behavior,
                                               invert);
}

} // namespace

std::unique_ptr<PreTokenizer> makeByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex)
{
    return std::make_unique<ByteLevelPreTokenizer>(addPrefixSpace, useRegex);
}

std::unique_ptr<PreTokenizer> makeRegexByteLevelPreTokenizer(const std::string& regex, const std::string& where)
{
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    parts.push_back(std::make_unique<SplitPreTokenizer>(TextPattern(std::make_shared<const Regex>(regex, where)),
                                                        Behavior::Isolated, false));
    parts.push_back(makeByteLevelPreTokenizer(false, false));
    return std::make_unique<SequencePreTokenizer>(std::move(parts));
}

std::unique_ptr<PreTokenizer> makePreTokenizer(const json& node, const std::string& where)
{
    if (node.is_null())
        return nullptr;
    const std::string type = requireType(node, where);
    if (type == "Split")
        return std::make_unique<SplitPreTokenizer>(requirePattern(node, "pattern", where),
                                                   parseBehavior(requireString(node, "behavior", where), where),
                                                   optionalBool(node, "invert", false, where));
    if (type == "ByteLevel")
        return makeByteLevelPreTokenizer(optionalBool(node, "add_prefix_space", true, where),
                                         optionalBool(node, "use_regex", true, where));
    if (type == "Metaspace") {
        const std::string replacement = requireString(node, "replacement", where);
        MetaspacePreTokenizer::Prepend prepend = MetaspacePreTokenizer::Prepend::Always;
        if (node.contains("prepend_scheme")) {
            const std::string scheme = requireString(node, "prepend_scheme", where);
            if (scheme == "always")
                prepend = MetaspacePreTokenizer::Prepend::Always;
            else if (scheme == "first")
                prepend = MetaspacePreTokenizer::Prepend::First;
            else if (scheme == "never")
                prepend = MetaspacePreTokenizer::Prepend::Never;
            else
                fail(where, ".prepend_scheme: \"", scheme, "\" is not always, first or never");
        } else if (!optionalBool(node, "add_prefix_space", true, where)) {
            prepend = MetaspacePreTokenizer::Prepend::Never;
        }
        return std::make_unique<MetaspacePreTokenizer>(replacement, prepend, optionalBool(node, "split", true, where));
    }
    if (type == "Digits")
        return regexSplit(R"(\p{N})",
                          optionalBool(node, "individual_digits", false, where) ? Behavior::Isolated
                                                                                  : Behavior::Contiguous,
                          false, where);
    if (type == "Whitespace")
        return regexSplit(R"(\w+|[^\w\s]+)", Behavior::Removed, true, where);
    if (type == "WhitespaceSplit")
        return regexSplit(R"(\s+)", Behavior::Removed, false, where);
    if (type == "Sequence") {
        const json& list = requireArray(node, "pretokenizers", where);
        std::vector<std::unique_ptr<PreTokenizer>> parts;
        for (std::size_t i = 0; i < list.size(); ++i)
            if (auto part = makePreTokenizer(list[i], cat(where, ".pretokenizers[", i, "]")))
                parts.push_back(std::move(part));
        return std::make_unique<SequencePreTokenizer>(std::move(parts));
    }
    fail(where, ": pre-tokenizer type \"", type, "\" is not supported");
}

} // namespace lathe
