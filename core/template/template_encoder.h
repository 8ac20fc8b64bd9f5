// Token ids for a conversation: a chat template bound to a tokenizer, encoding exactly as LLaMA-Factory's
// Template._convert_elements_to_ids does.
//
// Every text slot is tokenized on its own with add_special_tokens=False (special-token text inside it,
// "<|im_start|>", is recognised as in HF); {"token": x} becomes the vocabulary id of x; BOS/EOS become the
// tokenizer's ids, EOS after the template's fix-up (replace_eos: the first stop word). Stop ids for
// generation are EOS plus the stop words.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "template/chat_format.h"
#include "template/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace lathe {

/// One (prompt, response) pair of ids.
struct TurnIds
{
    std::vector<TokenId> prompt;   ///< masked in training (labels -100)
    std::vector<TokenId> response; ///< learned
};

class TemplateEncoder
{
public:
    /// Throws lathe::Error when the tokenizer lacks a token the template needs as EOS (replace_eos).
    TemplateEncoder(ChatTemplate tpl, std::shared_ptr<const Tokenizer> tokenizer);

    /// encode_multiturn: one pair per turn (see formatMultiturn).
    std::vector<TurnIds> encodeMultiturn(const Conversation& conversation,
                                         const ChatOptions& options = {}) const;
    /// encode_oneturn: every message but the last as prompt, the last as response.
    TurnIds encodeOneturn(const Conversation& conversation, const ChatOptions& options = {}) const;
    /// The prompt for generating the next assistant turn (see formatGenerationPrompt).
    std::vector<TokenId> encodeGenerationPrompt(const Conversation& conversation,
                                                const ChatOptions& options = {}) const;

    /// Slots to ids.
    std::vector<TokenId> toIds(const Slots& slots) const;

    /// Ids that end generation: EOS and every stop word the vocabulary has, sorted.
    std::vector<TokenId> stopTokenIds() const;

    /// The EOS the template uses (after replace_eos), if any.
    std::optional<TokenId> eosId() const { return m_eosId; }
    /// Its token text.
    const std::string& eosToken() const { return m_eosToken; }

    const ChatTemplate& chatTemplate() const { return m_template; }

private:
    ChatTemplate m_template;
    std::shared_ptr<const Tokenizer> m_tokenizer;
    std::optional<TokenId> m_eosId;
    std::string m_eosToken;
};

} // namespace lathe
