// Normalizers of tokenizer.json ("normalizer"): text rewrites applied to each piece of input between added
// tokens, before pre-tokenization. Supported: NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip,
// Prepend, Replace (string or regex), Sequence.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace lathe {

class Normalizer
{
public:
    virtual ~Normalizer() = default;
    virtual std::string normalize(std::string_view text) const = 0;
};

/// Builds the normalizer described by `node` (null gives nullptr). `where` names the file and field for
/// error messages ("tokenizer.json: normalizer").
std::unique_ptr<Normalizer> makeNormalizer(const nlohmann::json& node, const std::string& where);

} // namespace lathe
