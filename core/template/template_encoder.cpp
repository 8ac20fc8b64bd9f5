// Conversation to token ids with a chat template and a tokenizer (see template_encoder.h).
#include "template_encoder.h"

#include <algorithm>

#include "util/error.h"

namespace lathe {

TemplateEncoder::TemplateEncoder(ChatTemplate tpl, std::shared_ptr<const Tokenizer> tokenizer)
    : m_template(std::move(tpl)), m_tokenizer(std::move(tokenizer))
{
    if (!m_tokenizer)
        fail("TemplateEncoder needs a tokenizer");
    if (m_template.replaceEos || !m_tokenizer->eosId) {
        m_eosToken =
            effectiveEosToken(m_template, m_tokenizer->eosId ? m_tokenizer->eosToken : std::string());
        m_eosId = m_tokenizer->tokenToId(m_eosToken);
        if (!m_eosId && m_template.replaceEos)
            fail("Template ", m_template.name, " uses ", m_eosToken,
                 " as its EOS token, but the tokenizer has no such token (a new token would need "
                 "resize_vocab).");
    } else {
        m_eosToken = m_tokenizer->eosToken;
        m_eosId = m_tokenizer->eosId;
    }
}

std::vector<TokenId> TemplateEncoder::toIds(const Slots& slots) const
{
    EncodeOptions options;
    options.addSpecialTokens = false;
    options.parseSpecialTokens = true;
    std::vector<TokenId> ids;
    for (const Slot& slot : slots) {
        switch (slot.kind) {
        case Slot::Kind::Text:
            if (!slot.text.empty()) {
                const std::vector<TokenId> piece = m_tokenizer->encode(slot.text, options);
                ids.insert(ids.end(), piece.begin(), piece.end());
            }
            break;
        case Slot::Kind::Token: {
            const std::optional<TokenId> id = m_tokenizer->tokenToId(slot.text);
            if (!id)
                fail("Template ", m_template.name, " needs the token ", slot.text,
                     ", which the tokenizer lacks.");
            ids.push_back(*id);
            break;
        }
        case Slot::Kind::Bos:
            if (m_tokenizer->bosId)
                ids.push_back(*m_tokenizer->bosId);
            break;
        case Slot::Kind::Eos:
            if (m_eosId)
                ids.push_back(*m_eosId);
            break;
        }
    }
    return ids;
}

std::vector<TurnIds> TemplateEncoder::encodeMultiturn(const Conversation& conversation,
                                                      const ChatOptions& options) const
{
    std::vector<TurnIds> out;
    for (const TurnSlots& turn : formatMultiturn(m_template, conversation, options))
        out.push_back({toIds(turn.prompt), toIds(turn.response)});
    return out;
}

TurnIds TemplateEncoder::encodeOneturn(const Conversation& conversation, const ChatOptions& options) const
{
    const TurnSlots turn = formatOneturn(m_template, conversation, options);
    return {toIds(turn.prompt), toIds(turn.response)};
}

std::vector<TokenId> TemplateEncoder::encodeGenerationPrompt(const Conversation& conversation,
                                                             const ChatOptions& options) const
{
    return toIds(formatGenerationPrompt(m_template, conversation, options));
}

std::vector<TokenId> TemplateEncoder::stopTokenIds() const
{
    std::vector<TokenId> ids;
    if (m_eosId)
        ids.push_back(*m_eosId);
    for (const std::string& word : m_template.stopWords)
        if (const auto id = m_tokenizer->tokenToId(word))
            ids.push_back(*id);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

} // namespace lathe
