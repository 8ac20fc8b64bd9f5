// Tokenizer metadata for GGUF: turns a model folder's tokenizer.json (+ tokenizer_config.json, config.json,
// generation_config.json) into llama.cpp's tokenizer.* keys.
//
// Only byte-level BPE tokenizers are handled (Qwen2/2.5/3, Llama 3.x): llama.cpp calls them "gpt2". The rules
// follow convert_hf_to_gguf's get_vocab_base / SpecialVocab so that a Lathe file and a converted file load alike:
// one token per id up to config vocab_size (gaps filled with "[PAD<i>]"), token types NORMAL / CONTROL /
// USER_DEFINED / UNUSED, merges in rank order as "left right", special ids from tokenizer_config by content, then
// config.json, then generation_config.json.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace lathe {

class GgufFile;
struct ModelConfig;

struct GgufVocabOptions
{
    /// Value of tokenizer.ggml.pre; empty = recognised from tokenizer.json's split regex ("qwen2", "llama-bpe").
    std::string preTokenizer;
    /// When the folder has no tokenizer.json, write a placeholder byte-level vocab (256 byte tokens, the rest
    /// "[PAD<i>]") instead of failing. For test models that are driven by token ids only.
    bool placeholderIfMissing = false;
    /// tokenizer.chat_template to write instead of the folder's (the training template, see hf_export.h's
    /// planExportTemplate); unset: the folder's own.
    std::optional<std::string> chatTemplate;
    /// The EOS token text to declare instead of tokenizer_config.json's (a replace_eos template's stop word).
    std::string eosToken;
};

struct GgufVocabSummary
{
    std::string pre;           ///< tokenizer.ggml.pre written
    std::size_t tokens = 0;    ///< entries in tokenizer.ggml.tokens (= vocab_size)
    std::size_t merges = 0;
    bool placeholder = false;  ///< true when the placeholder vocab was written
};

/// Adds the tokenizer.* keys for the model in `modelDir` to `file`. `ggufArch` is the GGUF architecture string
/// (used only to pick the placeholder's pre-tokenizer). Throws lathe::Error naming the file and field.
GgufVocabSummary addGgufVocab(GgufFile& file, const std::string& modelDir, const ModelConfig& config,
                              const std::string& ggufArch, const GgufVocabOptions& options = {});

} // namespace lathe
