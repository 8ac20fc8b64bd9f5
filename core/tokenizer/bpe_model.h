// The BPE model of tokenizer.json ("model": {"type": "BPE"}): vocabulary, ranked merges, byte fallback,
// unk fusing, ignore_merges, continuing_subword_prefix / end_of_word_suffix, and a cache of word results.
//
// Words are merged exactly as tokenizers' Word::merge_all does it: a priority queue of adjacent pairs ordered
// by (merge rank, position), stale entries skipped. Merged words are cached per thread (see WordCache in
// bpe_model.cpp), so one model serves several threads without any lock.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lathe {

using TokenId = std::int32_t;

struct BpeOptions
{
    /// Unknown characters become their UTF-8 bytes as "<0xAB>" tokens (SentencePiece style).
    bool byteFallback = false;
    /// Consecutive unknown characters become one unk token.
    bool fuseUnk = false;
    /// A word found whole in the vocabulary is one token, whatever the merges say (Llama 3).
    bool ignoreMerges = false;
    /// unk_token, if any.
    std::optional<std::string> unkToken;
    std::string continuingSubwordPrefix;
    std::string endOfWordSuffix;
};

class BpeModel
{
public:
    /// `vocab` pairs token text with id; `merges` are (left, right) in rank order. Errors name `where`.
    BpeModel(std::vector<std::pair<std::string, TokenId>> vocab,
             const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
             const std::string& where);

    /// Appends the ids of one pre-tokenized word.
    void tokenize(const std::string& word, std::vector<TokenId>& out) const;

    std::optional<TokenId> tokenToId(std::string_view token) const;
    /// The token text of `id`, or nullptr when the vocabulary has no such id.
    const std::string* idToToken(TokenId id) const;
    /// Largest id + 1.
    std::size_t size() const { return m_idToToken.size(); }
    const BpeOptions& options() const { return m_options; }

private:
    struct Merge
    {
        std::uint32_t rank;
        TokenId newId;
    };
    static std::uint64_t pairKey(TokenId a, TokenId b)
    {
        return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
    }
    void tokenizeCached(std::string_view word, std::vector<TokenId>& out) const;
    void mergeWord(std::string_view word, std::vector<TokenId>& out) const;

    BpeOptions m_options;
    std::vector<std::string> m_idToToken;
    std::vector<bool> m_hasId;
    std::unordered_map<std::string_view, TokenId> m_vocab; ///< views into m_idToToken
    std::unordered_map<std::uint64_t, Merge> m_merges;
    std::optional<TokenId> m_unkId;
    std::array<TokenId, 256> m_byteFallbackIds{}; ///< "<0xAB>" ids, -1 where missing
    /// No vocabulary token has "▁" right after another character, so no merge can cross the start of a
    /// "▁" run: a SentencePiece-style word (Llama 2 keeps whole sentences as one word) is merged piece by
    /// piece, with the same result and with the cache.
    bool m_splitAtMetaspace = false;

    // ===== word cache =====
    /// Identifies this model to the per-thread word caches (a new model never reuses an old one's words).
    std::uint64_t m_cacheId = 0;
};

} // namespace lathe
