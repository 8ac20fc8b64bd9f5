// The Hugging Face tokenizers pipeline behind lathe::Tokenizer: added tokens -> normalizer ->
// pre-tokenizer -> BPE model -> post-processor on the way in, and added tokens / vocabulary -> decoder on
// the way out, in the order and with the rules of tokenizers' TokenizerImpl.
//
// Built by Tokenizer::fromDirectory (tokenizer.cpp); immutable afterwards.
#pragma once

#include <memory>
#include <vector>

#include "tokenizer/added_vocabulary.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/decoder.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace lathe {

struct TokenizerParts
{
    /// Each may be null except the model.
    std::unique_ptr<Normalizer> normalizer;
    std::unique_ptr<PreTokenizer> preTokenizer;
    std::unique_ptr<BpeModel> model;
    std::unique_ptr<PostProcessor> postProcessor;
    std::unique_ptr<Decoder> decoder;
    std::vector<AddedToken> addedTokens;
};

class HfTokenizer final : public Tokenizer
{
public:
    explicit HfTokenizer(TokenizerParts parts);

    std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options = {}) const override;
    std::string decode(const std::vector<TokenId>& ids, bool skipSpecialTokens = false) const override;
    std::optional<TokenId> tokenToId(std::string_view token) const override;
    std::string idToToken(TokenId id) const override;
    std::size_t vocabSize() const override;
    bool isSpecial(TokenId id) const override;

    const AddedVocabulary& addedVocabulary() const { return m_added; }

private:
    std::unique_ptr<Normalizer> m_normalizer;
    std::unique_ptr<PreTokenizer> m_preTokenizer;
    std::unique_ptr<BpeModel> m_model;
    std::unique_ptr<PostProcessor> m_postProcessor;
    std::unique_ptr<Decoder> m_decoder;
    AddedVocabulary m_added;
    std::uint64_t m_cacheId = 0; ///< names this tokenizer to the per-thread piece cache (hf_tokenizer.cpp)
};

} // namespace lathe
