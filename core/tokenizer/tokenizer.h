// Text to token ids and back, exactly as Hugging Face `tokenizers` does it for the models Lathe supports.
//
// A Tokenizer is read from a model folder: tokenizer.json (+ tokenizer_config.json, special_tokens_map.json,
// generation_config.json), or the older vocab.json + merges.txt pair. Two model families are covered:
// byte-level BPE (Qwen2/2.5/3, Llama 3, DeepSeek V3) and SentencePiece-style BPE with metaspace and byte
// fallback (Llama 2, Mistral). Added/special tokens are split out before BPE as HF does.
//
// Thread-safety: a loaded Tokenizer is immutable; encode/decode may be called from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lathe {

using TokenId = std::int32_t;

struct EncodeOptions
{
    /// Apply the post-processor (e.g. Llama's BOS), as HF's `add_special_tokens=True`. LLaMA-Factory's
    /// template encoder calls encode with this false.
    bool addSpecialTokens = false;
    /// Recognise added/special token text ("<|im_start|>") in the input. False treats it as plain text
    /// (for untrusted input: a user cannot inject control tokens).
    bool parseSpecialTokens = true;
};

class Tokenizer
{
public:
    /// Loads the tokenizer of a model folder. Throws lathe::Error naming the file and field on bad input.
    static std::shared_ptr<const Tokenizer> fromDirectory(const std::string& dir);

    virtual ~Tokenizer() = default;

    /// Encodes UTF-8 text. Invalid UTF-8 (a stray continuation byte, a truncated sequence, an overlong form,
    /// a surrogate or a code point above U+10FFFF) throws lathe::Error "input is not valid UTF-8: invalid
    /// sequence starting with byte 0xNN at byte offset N"; nothing is replaced silently.
    /// With parseSpecialTokens=false only added tokens marked special are treated as text (tokenizers'
    /// split_special_tokens); other added tokens still match.
    virtual std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options = {}) const = 0;
    /// Decodes ids to UTF-8 text (invalid byte sequences become U+FFFD, as HF does).
    virtual std::string decode(const std::vector<TokenId>& ids, bool skipSpecialTokens = false) const = 0;

    /// The id of a token string from the vocabulary or the added tokens, if any.
    virtual std::optional<TokenId> tokenToId(std::string_view token) const = 0;
    /// The token string of an id ("" when out of range).
    virtual std::string idToToken(TokenId id) const = 0;
    /// Number of ids (vocabulary plus added tokens: the largest id + 1).
    virtual std::size_t vocabSize() const = 0;
    /// Whether `id` is an added token marked special.
    virtual bool isSpecial(TokenId id) const = 0;

    /// Special tokens from tokenizer_config.json / special_tokens_map.json / generation_config.json.
    std::optional<TokenId> bosId, eosId, padId, unkId;
    std::string bosToken, eosToken, padToken, unkToken;
    /// tokenizer_config.json `add_bos_token` / `add_eos_token` (Llama 2 style); for byte-level models the
    /// post-processor decides instead.
    bool addBosToken = false;
    bool addEosToken = false;
    /// The Jinja chat template from tokenizer_config.json (kept verbatim; the GGUF export embeds it).
    std::string chatTemplate;
    /// The other named templates of a chat_template list ("tool_use", "rag", ...), by name.
    std::vector<std::pair<std::string, std::string>> namedChatTemplates;
    /// Extra stop ids from generation_config.json `eos_token_id` (a number or a list).
    std::vector<TokenId> generationEosIds;
};

/// Incremental detokenizer for streaming: feed ids one at a time, get the newly completed UTF-8 text.
/// Never returns half a UTF-8 character; byte-fallback tokens (<0xE4>) are assembled across calls.
/// Works like tokenizers' DecodeStream: only a short window of recent ids is decoded per push (the ids since
/// the last emitted text plus the ones before it, for context such as Metaspace's leading space), so a long
/// generation costs O(n), and the concatenated output equals decode(all ids).
class StreamDecoder
{
public:
    explicit StreamDecoder(std::shared_ptr<const Tokenizer> tokenizer, bool skipSpecialTokens = true);
    /// Text completed by `id` (may be empty while a character is still incomplete).
    std::string push(TokenId id);
    /// Whatever is still buffered at the end (incomplete bytes become U+FFFD).
    std::string flush();

private:
    std::shared_ptr<const Tokenizer> m_tokenizer;
    bool m_skipSpecial;
    std::vector<TokenId> m_ids;    ///< the window: ids not yet emitted, after the context ids
    std::string m_prefix;          ///< decode() of the context ids (already emitted)
    std::size_t m_prefixIndex = 0; ///< number of context ids at the front of m_ids
};

} // namespace lathe
