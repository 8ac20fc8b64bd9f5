// tokenizer.json normalizers (see normalizer.h), each a small class mirroring tokenizers' normalizers/*.rs.
#include "tokenizer/normalizer.h"

#include <vector>

#include <nlohmann/json.hpp>
#include <unicode/uchar.h>

#include "tokenizer/json_fields.h"
#include "tokenizer/text_pattern.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode_util.h"
#include "util/error.h"

namespace lathe {

namespace {

using nlohmann::json;

class UnicodeNormalizer final : public Normalizer
{
public:
    explicit UnicodeNormalizer(unicode::NormalizationForm form) : m_form(form) {}
    std::string normalize(std::string_view text) const override { return unicode::normalize(text, m_form); }

private:
    unicode::NormalizationForm m_form;
};

class LowercaseNormalizer final : public Normalizer
{
public:
    std::string normalize(std::string_view text) const override { return unicode::lowercase(text); }
};

// Removes combining marks (general category Mn); meaningful after NFD/NFKD.
class StripAccentsNormalizer final : public Normalizer
{
public:
    std::string normalize(std::string_view text) const override
    {
        std::string out;
        out.reserve(text.size());
        std::size_t pos = 0;
        while (pos < text.size()) {
            const std::size_t start = pos;
            const std::uint32_t cp = unicode::nextCodePoint(text, pos);
            if (u_charType(static_cast<UChar32>(cp)) != U_NON_SPACING_MARK)
                out.append(text.substr(start, pos - start));
        }
        return out;
    }
};

class StripNormalizer final : public Normalizer
{
public:
    StripNormalizer(bool left, bool right) : m_left(left), m_right(right) {}
    std::string normalize(std::string_view text) const override
    {
        std::size_t begin = 0, end = text.size();
        if (m_left) {
            std::size_t pos = 0;
            while (pos < text.size()) {
                const std::size_t here = pos;
                if (!unicode::isWhitespace(unicode::nextCodePoint(text, pos))) {
                    begin = here;
                    break;
                }
                begin = pos;
            }
        }
        if (m_right) {
            // Walk forward remembering where the trailing whitespace run starts.
            std::size_t pos = begin, runStart = text.size();
            bool inRun = false;
            while (pos < text.size()) {
                const std::size_t here = pos;
                const bool ws = unicode::isWhitespace(unicode::nextCodePoint(text, pos));
                if (ws && !inRun) {
                    runStart = here;
                    inRun = true;
                } else if (!ws) {
                    inRun = false;
                }
            }
            end = inRun ? runStart : text.size();
        }
        return std::string(text.substr(begin, end > begin ? end - begin : 0));
    }

private:
    bool m_left, m_right;
};

class PrependNormalizer final : public Normalizer
{
public:
    explicit PrependNormalizer(std::string prefix) : m_prefix(std::move(prefix)) {}
    std::string normalize(std::string_view text) const override
    {
        if (text.empty())
            return {};
        std::string out;
        out.reserve(m_prefix.size() + text.size());
        out += m_prefix;
        out += text;
        return out;
    }

private:
    std::string m_prefix;
};

class ReplaceNormalizer final : public Normalizer
{
public:
    ReplaceNormalizer(const json& node, const std::string& where)
        : m_replace(requirePattern(node, "pattern", where)), m_content(requireString(node, "content", where))
    {
    }
    std::string normalize(std::string_view text) const override { return m_replace.replaceAll(text, m_content); }

private:
    TextPattern m_replace;
    std::string m_content;
};

class SequenceNormalizer final : public Normalizer
{
public:
    explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts) : m_parts(std::move(parts)) {}
    std::string normalize(std::string_view text) const override
    {
        std::string current(text);
        for (const auto& part : m_parts)
            current = part->normalize(current);
        return current;
    }

private:
    std::vector<std::unique_ptr<Normalizer>> m_parts;
};

} // namespace

std::unique_ptr<Normalizer> makeNormalizer(const json& node, const std::string& where)
{
    if (node.is_null())
        return nullptr;
    const std::string type = requireType(node, where);
    using unicode::NormalizationForm;
    if (type == "NFC")
        return std::make_unique<UnicodeNormalizer>(NormalizationForm::NFC);
    if (type == "NFD")
        return std::make_unique<UnicodeNormalizer>(NormalizationForm::NFD);
    if (type == "NFKC")
        return std::make_unique<UnicodeNormalizer>(NormalizationForm::NFKC);
    if (type == "NFKD")
        return std::make_unique<UnicodeNormalizer>(NormalizationForm::NFKD);
    if (type == "Lowercase")
        return std::make_unique<LowercaseNormalizer>();
    if (type == "StripAccents")
        return std::make_unique<StripAccentsNormalizer>();
    if (type == "Strip")
        return std::make_unique<StripNormalizer>(optionalBool(node, "strip_left", true, where),
                                                 optionalBool(node, "strip_right", true, where));
    if (type == "Prepend")
        return std::make_unique<PrependNormalizer>(requireString(node, "prepend", where));
    if (type == "Replace")
        return std::make_unique<ReplaceNormalizer>(node, where);
    if (type == "Sequence") {
        const json& list = requireArray(node, "normalizers", where);
        std::vector<std::unique_ptr<Normalizer>> parts;
        for (std::size_t i = 0; i < list.size(); ++i)
            if (auto part = makeNormalizer(list[i], cat(where, ".normalizers[", i, "]")))
                parts.push_back(std::move(part));
        if (parts.empty())
            return nullptr;
        return std::make_unique<SequenceNormalizer>(std::move(parts));
    }
    fail(where, ": normalizer type \"", type, "\" is not supported");
}

} // namespace lathe
