// A test tokenizer with exactly predictable ids: every byte is its own id (0..255), and the special tokens it
// is given are 1000, 1001, ... and are matched in the text first. Used to check templates and label masks as
// exact text without model files.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace lathe::test {

class ByteTokenizer : public Tokenizer
{
public:
    ByteTokenizer(std::vector<std::string> specials, std::string bos, std::string eos)
        : m_specials(std::move(specials))
    {
        bosToken = std::move(bos);
        eosToken = std::move(eos);
        bosId = bosToken.empty() ? std::nullopt : tokenToId(bosToken);
        eosId = eosToken.empty() ? std::nullopt : tokenToId(eosToken);
    }

    std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options) const override
    {
        ++encodeCalls;
        std::vector<TokenId> ids;
        if (options.addSpecialTokens && addBosToken && bosId)
            ids.push_back(*bosId);
        std::size_t i = 0;
        while (i < text.size()) {
            bool matched = false;
            if (options.parseSpecialTokens)
                for (std::size_t k = 0; k < m_specials.size(); ++k)
                    if (text.substr(i, m_specials[k].size()) == m_specials[k]) {
                        ids.push_back(static_cast<TokenId>(1000 + k));
                        i += m_specials[k].size();
                        matched = true;
                        break;
                    }
            if (!matched)
                ids.push_back(static_cast<unsigned char>(text[i++]));
        }
        return ids;
    }
    std::string decode(const std::vector<TokenId>& ids, bool) const override
    {
        std::string out;
        for (const TokenId id : ids)
            out += idToToken(id);
        return out;
    }
    std::optional<TokenId> tokenToId(std::string_view token) const override
    {
        for (std::size_t k = 0; k < m_specials.size(); ++k)
            if (m_specials[k] == token)
                return static_cast<TokenId>(1000 + k);
        return std::nullopt;
    }
    std::string idToToken(TokenId id) const override
    {
        if (id >= 1000 && id < 1000 + static_cast<TokenId>(m_specials.size()))
            return m_specials[static_cast<std::size_t>(id - 1000)];
        if (id >= 0 && id < 256)
            return std::string(1, static_cast<char>(id));
        return {};
    }
    std::size_t vocabSize() const override { return 1000 + m_specials.size(); }
    bool isSpecial(TokenId id) const override { return id >= 1000; }

    mutable int encodeCalls = 0; ///< how often encode ran (templates encode slot by slot)

private:
    std::vector<std::string> m_specials;
};

} // namespace lathe::test
