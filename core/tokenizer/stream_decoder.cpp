// Streaming detokenization (see StreamDecoder in tokenizer.h), after tokenizers' DecodeStream::step.
#include "tokenizer/tokenizer.h"

namespace lathe {

namespace {

bool endsWithReplacement(const std::string& s)
{
    return s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0;
}

} // namespace

StreamDecoder::StreamDecoder(std::shared_ptr<const Tokenizer> tokenizer, bool skipSpecialTokens)
    : m_tokenizer(std::move(tokenizer)), m_skipSpecial(skipSpecialTokens)
{
}

std::string StreamDecoder::push(TokenId id)
{
    m_ids.push_back(id);
    const std::string text = m_tokenizer->decode(m_ids, m_skipSpecial);
    // A trailing U+FFFD means an incomplete character (byte-level or byte-fallback bytes still missing).
    if (text.size() <= m_prefix.size() || endsWithReplacement(text))
        return {};
    std::string fresh;
    if (text.compare(0, m_prefix.size(), m_prefix) == 0) {
        fresh = text.substr(m_prefix.size());
    } else {
        // The context decoded differently once more ids followed it (not seen with the supported
        // decoders); emit what differs after the common part rather than lose text.
        std::size_t common = 0;
        while (common < m_prefix.size() && m_prefix[common] == text[common])
            ++common;
        fresh = text.substr(common);
    }
    // The ids just decoded become the context of the next push.
    const std::size_t newPrefixIndex = m_ids.size() - m_prefixIndex;
    m_ids.erase(m_ids.begin(), m_ids.begin() + static_cast<std::ptrdiff_t>(m_prefixIndex));
    m_prefix = m_tokenizer->decode(m_ids, m_skipSpecial);
    m_prefixIndex = newPrefixIndex;
    return fresh;
}

std::string StreamDecoder::flush()
{
    const std::string text = m_tokenizer->decode(m_ids, m_skipSpecial);
    std::string rest;
    if (text.size() > m_prefix.size() && text.compare(0, m_prefix.size(), m_prefix) == 0) {
        rest = text.substr(m_prefix.size());
    } else if (m_ids.size() > m_prefixIndex) {
        // The unfinished bytes spoiled the context too (ByteFallback turns a whole invalid byte run into
        // U+FFFDs): decode what was never emitted on its own.
        rest = m_tokenizer->decode(std::vector<TokenId>(m_ids.begin() + static_cast<std::ptrdiff_t>(m_prefixIndex),
                                                        m_ids.end()),
                                   m_skipSpecial);
    }
    m_ids.clear();
    m_prefix.clear();
    m_prefixIndex = 0;
    return rest;
}

} // namespace lathe
