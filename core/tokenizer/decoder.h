// Decoders of tokenizer.json ("decoder"): token strings back to text. ByteLevel, Metaspace, Replace,
// ByteFallback, Fuse, Strip and Sequence, each working on the whole list of token strings as tokenizers'
// decode_chain does; the results are concatenated.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lathe {

class Decoder
{
public:
    virtual ~Decoder() = default;
    /// Rewrites the token strings (may merge them).
    virtual void decodeChain(std::vector<std::string>& tokens) const = 0;
};

/// Builds the decoder described by `node` (null gives nullptr); errors name `where`.
std::unique_ptr<Decoder> makeDecoder(const nlohmann::json& node, const std::string& where);
/// The ByteLevel decoder, for the vocab.json + merges.txt format.
std::unique_ptr<Decoder> makeByteLevelDecoder();

} // namespace lathe
