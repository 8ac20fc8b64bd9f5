// Post-processors of tokenizer.json ("post_processor"): what encode(addSpecialTokens=true) adds around a
// single sequence. TemplateProcessing (Llama 2's "<s> $A"), RobertaProcessing / BertProcessing
// (cls $A sep), ByteLevel (offsets only: ids unchanged) and Sequence.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lathe {

using TokenId = std::int32_t;

class PostProcessor
{
public:
    virtual ~PostProcessor() = default;
    /// Rewrites the ids of one encoded sequence.
    virtual void process(std::vector<TokenId>& ids) const = 0;
};

/// Builds the post-processor described by `node` (null gives nullptr); errors name `where`.
std::unique_ptr<PostProcessor> makePostProcessor(const nlohmann::json& node, const std::string& where);

} // namespace lathe
