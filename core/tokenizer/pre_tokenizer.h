// Pre-tokenizers of tokenizer.json ("pre_tokenizer"): cut normalized text into the words the model
// tokenizes one by one. Supported: Split (string or regex, every SplitDelimiterBehavior, invert),
// ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit, Sequence.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lathe {

class PreTokenizer
{
public:
    virtual ~PreTokenizer() = default;
    /// Splits/rewrites `pieces` in place; empty pieces are dropped. `atStart` says whether pieces[0] begins
    /// at offset 0 of the original input (Metaspace's prepend_scheme "first" depends on it).
    virtual void apply(std::vector<std::string>& pieces, bool atStart) const = 0;
};

/// Builds the pre-tokenizer described by `node` (null gives nullptr); errors name `where`.
std::unique_ptr<PreTokenizer> makePreTokenizer(const nlohmann::json& node, const std::string& where);

/// ByteLevel(add_prefix_space, use_regex) directly, for the vocab.json + merges.txt format.
std::unique_ptr<PreTokenizer> makeByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex);
/// Split(regex, Isolated) followed by ByteLevel without regex (Qwen2's slow tokenizer).
std::unique_ptr<PreTokenizer> makeRegexByteLevelPreTokenizer(const std::string& regex, const std::string& where);

} // namespace lathe
