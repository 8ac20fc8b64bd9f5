// A tiny model for tests that train or generate: a byte-level tokenizer on disk (ids 0-255 are the bytes,
// <|endoftext|> 256, <|im_start|> 257, <|im_end|> 258; no merges) and a float32 Qwen3 model of 2 layers,
// hidden 32 and vocab 300 made by writeNewModel, so tests need neither shared/ nor the network.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace lathe::test {

/// Writes tokenizer.json and tokenizer_config.json (eos <|im_end|>, pad <|endoftext|>) into `dir`.
void writeByteTokenizer(const std::filesystem::path& dir);

/// Writes `<root>/tokenizer/` and the model folder `<root>/model/`; returns the model folder.
std::filesystem::path makeTinyModel(const std::filesystem::path& root);

/// Writes an alpaca dataset `<dir>/<name>.json` of (instruction, output) pairs (input empty) and a
/// dataset_info.json in `dir` registering it under `name`.
void writeAlpacaDataset(const std::filesystem::path& dir, const std::string& name,
                        const std::vector<std::pair<std::string, std::string>>& examples);

} // namespace lathe::test
