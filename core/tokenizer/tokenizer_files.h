// The files that make up a tokenizer in a Hugging Face model folder, and copying them along with weights
// (new models, training runs, exports all carry the tokenizer next to what they write).
#pragma once

#include <string>
#include <vector>

namespace lathe {

/// tokenizer.json, tokenizer_config.json, special_tokens_map.json, vocab/merges, tokenizer.model, ...
const std::vector<std::string>& tokenizerFileNames();

/// Copies those of the files that exist in `fromDir` into `toDir` (overwriting); returns the names copied.
std::vector<std::string> copyTokenizerFiles(const std::string& fromDir, const std::string& toDir);

} // namespace lathe
