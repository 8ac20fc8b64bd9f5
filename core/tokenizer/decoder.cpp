// tokenizer.json decoders (see decoder.h), after tokenizers' decoders/*.rs.
#include "tokenizer/decoder.h"

#include <nlohmann/json.hpp>

#include "tokenizer/json_fields.h"
#include "tokenizer/text_pattern.h"
#include "tokenizer/unicode_util.h"
#include "util/error.h"

namespace lathe {

namespace {

using nlohmann::json;

// Each token's characters back to bytes; a token with a character outside the alphabet (an added token
// such as "<|im_start|>" maps, one in CJK does not) keeps its own UTF-8 bytes. The bytes are decoded lossily.
class ByteLevelDecoder final : public Decoder
{
public:
    void decodeChain(std::vector<std::string>& tokens) const override
    {
        const auto& table = unicode::byteLevelDecodeTable();
        std::string bytes;
        for (const auto& token : tokens) {
            const std::size_t mark = bytes.size();
            std::size_t pos = 0;
            bool mapped = true;
            while (pos < token.size()) {
                const std::uint32_t cp = unicode::nextCodePoint(token, pos);
                if (cp >= table.size() || table[cp] < 0) {
                    mapped = false;
                    break;
                }
                bytes += static_cast<char>(table[cp]);
            }
            if (!mapped) {
                bytes.resize(mark);
                bytes += token;
            }
        }
        tokens.assign(1, unicode::lossyUtf8(bytes));
    }
};

class MetaspaceDecoder final : public Decoder
{
public:
    MetaspaceDecoder(std::string replacement, bool prefixSpace)
        : m_replacement(std::move(replacement)), m_prefixSpace(prefixSpace)
    {
    }
    void decodeChain(std::vector<std::string>& tokens) const override
    {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            const std::string& token = tokens[i];
            std::string out;
            out.reserve(token.size());
            std::size_t pos = 0;
            while (pos < token.size()) {
                if (token.compare(pos, m_replacement.size(), m_replacement) == 0) {
                    if (!(i == 0 && m_prefixSpace))
                        out += ' ';
                    pos += m_replacement.size();
                } else {
                    out += token[pos++];
                }
            }
            tokens[i] = std::move(out);
        }
    }

private:
    std::string m_replacement;
    bool m_prefixSpace;
};

class ReplaceDecoder final : public Decoder
{
public:
    ReplaceDecoder(TextPattern pattern, std::string content) : m_pattern(std::move(pattern)), m_content(std::move(content)) {}
    void decodeChain(std::vector<std::string>& tokens) const override
    {
        for (auto& token : tokens)
            token = m_pattern.replaceAll(token, m_content);
    }

private:
    TextPattern m_pattern;
    std::string m_content;
};

// "<0xAB>" tokens become bytes; a run of them that is not valid UTF-8 becomes one U+FFFD per byte.
class ByteFallbackDecoder final : public Decoder
{
public:
    void decodeChain(std::vector<std::string>& tokens) const override
    {
        std::vector<std::string> out;
        out.reserve(tokens.size());
        std::string pending;
        auto flush = [&] {
            if (pending.empty())
                return;
            if (unicode::firstInvalidUtf8(pending) == std::string_view::npos)
                out.push_back(pending);
            else
                for (std::size_t i = 0; i < pending.size(); ++i)
                    out.emplace_back("\xEF\xBF\xBD");
            pending.clear();
        };
        for (auto& token : tokens) {
            int byte = -1;
            if (token.size() == 6 && token.compare(0, 3, "<0x") == 0 && token[5] == '>') {
                const auto hex = [](char c) {
                    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                     : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
                };
                const int hi = hex(token[3]), lo = hex(token[4]);
                if (hi >= 0 && lo >= 0)
                    byte = hi * 16 + lo;
            }
            if (byte >= 0) {
                pending += static_cast<char>(byte);
            } else {
                flush();
                out.push_back(std::move(token));
            }
        }
        flush();
        tokens.swap(out);
    }
};

class FuseDecoder final : public Decoder
{
public:
    void decodeChain(std::vector<std::string>& tokens) const override
    {
        std::string all;
        for (const auto& t : tokens)
            all += t;
        tokens.assign(1, std::move(all));
    }
};

// Removes up to `start` leading and `stop` trailing copies of one character from each token.
class StripDecoder final : public Decoder
{
public:
    StripDecoder(std::string content, std::size_t start, std::size_t stop)
        : m_content(std::move(content)), m_start(start), m_stop(stop)
    {
    }
    void decodeChain(std::vector<std::string>& tokens) const override
    {
        const std::size_t n = m_content.size();
        for (auto& token : tokens) {
            std::size_t begin = 0, end = token.size();
            for (std::size_t i = 0; i < m_start && begin + n <= end && token.compare(begin, n, m_content) == 0; ++i)
                begin += n;
            for (std::size_t i = 0; i < m_stop && end >= begin + n && token.compare(end - n, n, m_content) == 0; ++i)
                end -= n;
            token = token.substr(begin, end - begin);
        }
    }

private:
    std::string m_content;
    std::size_t m_start, m_stop;
};

class SequenceDecoder final : public Decoder
{
public:
    explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> parts) : m_parts(std::move(parts)) {}
    void decodeChain(std::vector<std::string>& tokens) const override
    {
        for (const auto& part : m_parts)
            part->decodeChain(tokens);
    }

private:
    std::vector<std::unique_ptr<Decoder>> m_parts;
};

} // namespace

std::unique_ptr<Decoder> makeByteLevelDecoder()
{
    return std::make_unique<ByteLevelDecoder>();
}

std::unique_ptr<Decoder> makeDecoder(const json& node, const std::string& where)
{
    if (node.is_null())
        return nullptr;
    const std::string type = requireType(node, where);
    if (type == "ByteLevel")
        return makeByteLevelDecoder();
    if (type == "Metaspace") {
        bool prefixSpace = optionalBool(node, "add_prefix_space", true, where);
        if (node.contains("prepend_scheme"))
            prefixSpace = requireString(node, "prepend_scheme", where) != "never";
        return std::make_unique<MetaspaceDecoder>(requireString(node, "replacement", where), prefixSpace);
    }
    if (type == "Replace")
        return std::make_unique<ReplaceDecoder>(requirePattern(node, "pattern", where),
                                                requireString(node, "content", where));
    if (type == "ByteFallback")
        return std::make_unique<ByteFallbackDecoder>();
    if (type == "Fuse")
        return std::make_unique<FuseDecoder>();
    if (type == "Strip")
        return std::make_unique<StripDecoder>(requireString(node, "content", where),
                                              static_cast<std::size_t>(optionalInt(node, "start", 0, where)),
                                              static_cast<std::size_t>(optionalInt(node, "stop", 0, where)));
    if (type == "Sequence") {
        const json& list = requireArray(node, "decoders", where);
        std::vector<std::unique_ptr<Decoder>> parts;
        for (std::size_t i = 0; i < list.size(); ++i)
            if (auto part = makeDecoder(list[i], cat(where, ".decoders[", i, "]")))
                parts.push_back(std::move(part));
        return std::make_unique<SequenceDecoder>(std::move(parts));
    }
    fail(where, ": decoder type \"", type, "\" is not supported");
}

} // namespace lathe
