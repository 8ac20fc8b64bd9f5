// BPE merging as tokenizers' models/bpe does it (see bpe_model.h).
#include "tokenizer/bpe_model.h"

#include <cstdio>
#include <functional>
#include <queue>

#include "tokenizer/thread_cache.h"
#include "tokenizer/unicode_util.h"
#include "util/error.h"

namespace lathe {

namespace {
const char* const kMetaspace = "\xE2\x96\x81"; // U+2581

constexpr std::size_t kCacheCapacity = 1 << 17;
constexpr std::size_t kMaxCachedLength = 256;

struct CachedWord
{
    std::string word;
    std::vector<TokenId> ids;
};

/// Merged words keyed by the word's 64-bit hash (computed once per lookup; the stored word is compared, so a
/// colliding word is merged uncached, never answered wrongly). Per thread (thread_cache.h) and without a lock:
/// a cache shared behind mutexes made the threads queue on the shard holding the most frequent words.
struct WordCacheTag;
using WordCache = std::unordered_map<std::uint64_t, CachedWord>;
} // namespace

BpeModel::BpeModel(std::vector<std::pair<std::string, TokenId>> vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
                   const std::string& where)
    : m_options(std::move(options)), m_cacheId(newCacheOwnerId())
{
    TokenId maxId = -1;
    for (const auto& entry : vocab) {
        if (entry.second < 0)
            fail(where, ": model.vocab[\"", entry.first, "\"] has negative id ", entry.second);
        maxId = std::max(maxId, entry.second);
    }
    m_idToToken.resize(static_cast<std::size_t>(maxId + 1));
    m_hasId.assign(m_idToToken.size(), false);
    for (auto& entry : vocab) {
        m_idToToken[entry.second] = std::move(entry.first);
        m_hasId[entry.second] = true;
    }
    // Views into m_idToToken, which no longer changes. A token listed under two ids keeps the last one, as
    // a JSON object read into a map would.
    m_vocab.reserve(m_idToToken.size());
    for (std::size_t id = 0; id < m_idToToken.size(); ++id)
        if (m_hasId[id])
            m_vocab[m_idToToken[id]] = static_cast<TokenId>(id);

    const std::size_t prefixLen = m_options.continuingSubwordPrefix.size();
    m_merges.reserve(merges.size());
    for (std::size_t rank = 0; rank < merges.size(); ++rank) {
        const auto& [left, right] = merges[rank];
        const auto a = tokenToId(left);
        const auto b = tokenToId(right);
        if (!a || !b)
            fail(where, ": model.merges[", rank, "] (\"", left, "\", \"", right, "\") uses a token missing from model.vocab");
        const std::string merged = left + (right.size() >= prefixLen ? right.substr(prefixLen) : std::string());
        const auto id = tokenToId(merged);
        if (!id)
            fail(where, ": model.merges[", rank, "] produces \"", merged, "\", which is missing from model.vocab");
        m_merges[pairKey(*a, *b)] = Merge{static_cast<std::uint32_t>(rank), *id};
    }

    if (m_options.unkToken) {
        m_unkId = tokenToId(*m_options.unkToken);
        if (!m_unkId)
            fail(where, ": model.unk_token \"", *m_options.unkToken, "\" is not in model.vocab");
    }
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        const auto id = tokenToId(name);
        m_byteFallbackIds[b] = id ? *id : -1;
    }
    m_splitAtMetaspace = true;
    for (std::size_t id = 0; id < m_idToToken.size() && m_splitAtMetaspace; ++id) {
        const std::string& t = m_idToToken[id];
        for (std::size_t p = t.find(kMetaspace, 1); p != std::string::npos; p = t.find(kMetaspace, p + 3))
            if (p < 3 || t.compare(p - 3, 3, kMetaspace) != 0) {
                m_splitAtMetaspace = false;
                break;
            }
    }
}

std::optional<TokenId> BpeModel::tokenToId(std::string_view token) const
{
    const auto it = m_vocab.find(token);
    if (it == m_vocab.end())
        return std::nullopt;
    return it->second;
}

const std::string* BpeModel::idToToken(TokenId id) const
{
    if (id < 0 || static_cast<std::size_t>(id) >= m_idToToken.size() || !m_hasId[id])
        return nullptr;
    return &m_idToToken[id];
}

void BpeModel::tokenize(const std::string& word, std::vector<TokenId>& out) const
{
    if (word.empty())
        return;
    if (m_options.ignoreMerges)
        if (const auto id = tokenToId(word)) {
            out.push_back(*id);
            return;
        }
    if (!m_splitAtMetaspace || word.size() <= 3) {
        tokenizeCached(word, out);
        return;
    }
    // Cut before every "▁" run that follows another character.
    const std::string_view all(word);
    std::size_t start = 0;
    for (std::size_t p = all.find(kMetaspace, 1); p != std::string_view::npos; p = all.find(kMetaspace, p + 3)) {
        if (p > start && all.compare(p - 3, 3, kMetaspace) != 0) {
            tokenizeCached(all.substr(start, p - start), out);
            start = p;
        }
    }
    tokenizeCached(all.substr(start), out);
}

void BpeModel::tokenizeCached(std::string_view word, std::vector<TokenId>& out) const
{
    const bool cacheable = word.size() < kMaxCachedLength;
    if (!cacheable) {
        mergeWord(word, out);
        return;
    }
    const std::uint64_t hash = std::hash<std::string_view>()(word);
    WordCache& cache = threadCacheFor<WordCacheTag, WordCache>(m_cacheId);
    const auto it = cache.find(hash);
    if (it != cache.end()) {
        if (it->second.word == word)
            out.insert(out.end(), it->second.ids.begin(), it->second.ids.end());
        else
            mergeWord(word, out); // keep the word already cached under this hash
        return;
    }
    const std::size_t first = out.size();
    mergeWord(word, out);
    // A full cache starts over rather than freezing on the words seen first.
    if (cache.size() >= kCacheCapacity)
        cache.clear();
    cache.emplace(hash, CachedWord{std::string(word),
                                         std::vector<TokenId>(out.begin() + std::ptrdiff_t(first), out.end())});
}

void BpeModel::mergeWord(std::string_view word, std::vector<TokenId>& out) const
{
    struct Symbol
    {
        TokenId id;
        int prev, next;
        bool removed;
    };
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    auto add = [&](TokenId id) {
        const int index = static_cast<int>(symbols.size());
        symbols.push_back({id, index - 1, -1, false});
        if (index > 0)
            symbols[index - 1].next = index;
    };

    // ===== initial symbols: one per character (Word::add in BPE::merge_word) =====
    const std::string& prefix = m_options.continuingSubwordPrefix;
    const std::string& suffix = m_options.endOfWordSuffix;
    std::optional<TokenId> pendingUnk;
    std::string scratch;
    std::size_t pos = 0;
    while (pos < word.size()) {
        const std::size_t begin = pos;
        pos += unicode::sequenceLength(static_cast<unsigned char>(word[pos]));
        std::string_view piece(word.data() + begin, pos - begin);
        if ((begin > 0 && !prefix.empty()) || (pos == word.size() && !suffix.empty())) {
            scratch.assign(begin > 0 ? prefix : std::string());
            scratch.append(piece);
            if (pos == word.size())
                scratch += suffix;
            piece = scratch;
        }
        if (const auto id = tokenToId(piece)) {
            if (pendingUnk) {
                add(*pendingUnk);
                pendingUnk.reset();
            }
            add(*id);
            continue;
        }
        if (m_options.byteFallback) {
            bool all = true;
            for (const char c : piece)
                all = all && m_byteFallbackIds[static_cast<unsigned char>(c)] >= 0;
            if (all) {
                // tokenizers adds the byte tokens without flushing a pending unk first; so do we.
                for (const char c : piece)
                    add(m_byteFallbackIds[static_cast<unsigned char>(c)]);
                continue;
            }
        }
        if (m_unkId) {
            if (pendingUnk && !m_options.fuseUnk)
                add(*pendingUnk);
            pendingUnk = m_unkId;
        }
    }
    if (pendingUnk)
        add(*pendingUnk);

    // ===== merges, lowest rank first, leftmost first among equal ranks (Word::merge_all) =====
    struct Candidate
    {
        std::uint32_t rank;
        int pos;
        TokenId newId;
        bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
    auto lookup = [&](TokenId a, TokenId b) -> const Merge* {
        const auto it = m_merges.find(pairKey(a, b));
        return it == m_merges.end() ? nullptr : &it->second;
    };
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i)
        if (const Merge* m = lookup(symbols[i].id, symbols[i + 1].id))
            queue.push({m->rank, static_cast<int>(i), m->newId});
    while (!queue.empty()) {
        const Candidate top = queue.top();
        queue.pop();
        Symbol& left = symbols[top.pos];
        if (left.removed || left.next < 0)
            continue;
        Symbol& right = symbols[left.next];
        const Merge* current = lookup(left.id, right.id);
        if (!current || current->newId != top.newId)
            continue; // stale: one side was merged since this entry was queued
        left.id = top.newId;
        right.removed = true;
        left.next = right.next;
        if (right.next >= 0)
            symbols[right.next].prev = top.pos;
        if (left.prev >= 0)
            if (const Merge* m = lookup(symbols[left.prev].id, left.id))
                queue.push({m->rank, left.prev, m->newId});
        if (left.next >= 0)
            if (const Merge* m = lookup(left.id, symbols[left.next].id))
                queue.push({m->rank, top.pos, m->newId});
    }
    for (const auto& s : symbols)
        if (!s.removed)
            out.push_back(s.id);
}

} // namespace lathe
