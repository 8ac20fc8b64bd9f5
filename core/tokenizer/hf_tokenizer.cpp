// Encoding and decoding through the tokenizers pipeline (see hf_tokenizer.h).
#include "tokenizer/hf_tokenizer.h"

#include <algorithm>
#include <unordered_map>
#include <cstdio>

#include "tokenizer/thread_cache.h"
#include "tokenizer/unicode_util.h"
#include "util/error.h"

namespace lathe {

namespace {

constexpr std::size_t kMaxCachedPiece = 32;
constexpr std::size_t kPieceCacheCapacity = 4096;

/// Ids of short pieces between added tokens, per thread (thread_cache.h). A piece's ids depend only on its
/// text, whether it starts the input and whether special tokens are parsed, so the template's fixed text
/// ("assistant\n", "\n" after <|im_end|>, ...) is worked out once instead of going through the normalizer,
/// pre-tokenizer and model for every example.
struct PieceCacheTag;
using PieceCache = std::unordered_map<std::string, std::vector<TokenId>>;

} // namespace

HfTokenizer::HfTokenizer(TokenizerParts parts)
    : m_normalizer(std::move(parts.normalizer)), m_preTokenizer(std::move(parts.preTokenizer)),
      m_model(std::move(parts.model)), m_postProcessor(std::move(parts.postProcessor)),
      m_decoder(std::move(parts.decoder)), m_added(std::move(parts.addedTokens), m_normalizer.get()),
      m_cacheId(newCacheOwnerId())
{
}

std::vector<TokenId> HfTokenizer::encode(std::string_view text, const EncodeOptions& options) const
{
    const std::size_t bad = unicode::firstInvalidUtf8(text);
    if (bad != std::string_view::npos) {
        char byte[8];
        std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[bad]));
        fail("tokenizer: input is not valid UTF-8: invalid sequence starting with byte ", byte, " at byte offset ",
             bad);
    }
    std::vector<TokenId> ids;
    ids.reserve(text.size() / 3 + 4);
    const bool skipSpecial = !options.parseSpecialTokens;
    std::vector<AddedSplit> rawSplits, normalizedSplits;
    std::vector<std::string> words;
    m_added.split(text, false, skipSpecial, rawSplits);
    for (const AddedSplit& raw : rawSplits) {
        if (raw.token >= 0) {
            ids.push_back(m_added.tokens()[raw.token].id);
            continue;
        }
        const std::string_view piece = text.substr(raw.begin, raw.end - raw.begin);
        std::string key;
        PieceCache* cache = nullptr;
        if (piece.size() <= kMaxCachedPiece) {
            cache = &threadCacheFor<PieceCacheTag, PieceCache>(m_cacheId);
            key.reserve(piece.size() + 2);
            key.push_back(raw.begin == 0 ? '1' : '0');
            key.push_back(skipSpecial ? '1' : '0');
            key.append(piece);
            if (const auto it = cache->find(key); it != cache->end()) {
                ids.insert(ids.end(), it->second.begin(), it->second.end());
                continue;
            }
        }
        const std::size_t pieceStart = ids.size();
        const std::string normalized = m_normalizer ? m_normalizer->normalize(piece) : std::string(piece);
        normalizedSplits.clear();
        m_added.split(normalized, true, skipSpecial, normalizedSplits);
        for (const AddedSplit& split : normalizedSplits) {
            if (split.token >= 0) {
                ids.push_back(m_added.tokens()[split.token].id);
                continue;
            }
            words.assign(1, normalized.substr(split.begin, split.end - split.begin));
            if (m_preTokenizer)
                m_preTokenizer->apply(words, raw.begin == 0 && split.begin == 0);
            for (const std::string& word : words)
                m_model->tokenize(word, ids);
        }
        if (cache) {
            if (cache->size() >= kPieceCacheCapacity)
                cache->clear();
            cache->emplace(std::move(key), std::vector<TokenId>(ids.begin() + std::ptrdiff_t(pieceStart), ids.end()));
        }
    }
    if (options.addSpecialTokens && m_postProcessor)
        m_postProcessor->process(ids);
    return ids;
}

std::string HfTokenizer::decode(const std::vector<TokenId>& ids, bool skipSpecialTokens) const
{
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (const TokenId id : ids) {
        if (const AddedToken* added = m_added.byId(id)) {
            if (!(skipSpecialTokens && added->special))
                tokens.push_back(added->content);
        } else if (const std::string* token = m_model->idToToken(id)) {
            // A vocabulary entry whose text is also a special added token counts as special (tokenizers
            // checks by content).
            if (skipSpecialTokens) {
                const AddedToken* same = m_added.byContent(*token);
                if (same && same->special)
                    continue;
            }
            tokens.push_back(*token);
        }
    }
    if (!m_decoder) {
        std::string out;
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            if (i)
                out += ' ';
            out += tokens[i];
        }
        return out;
    }
    m_decoder->decodeChain(tokens);
    std::string out;
    for (const auto& t : tokens)
        out += t;
    return out;
}

std::optional<TokenId> HfTokenizer::tokenToId(std::string_view token) const
{
    if (const AddedToken* added = m_added.byContent(token))
        return added->id;
    return m_model->tokenToId(token);
}

std::string HfTokenizer::idToToken(TokenId id) const
{
    if (const AddedToken* added = m_added.byId(id))
        return added->content;
    if (const std::string* token = m_model->idToToken(id))
        return *token;
    return {};
}

std::size_t HfTokenizer::vocabSize() const
{
    std::size_t size = m_model->size();
    for (const auto& t : m_added.tokens())
        size = std::max(size, static_cast<std::size_t>(t.id) + 1);
    return size;
}

bool HfTokenizer::isSpecial(TokenId id) const
{
    const AddedToken* added = m_added.byId(id);
    return added && added->special;
}

} // namespace lathe
