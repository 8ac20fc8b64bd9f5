// What a generation is asked for: sampling settings and a chat turn's options. Plain structs with no torch, so
// that request parsing (the API server's bodies, the CLI's arguments) builds and is fuzzed without libtorch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "template/chat_format.h"

namespace lathe {

struct SamplingOptions
{
    bool do_sample = false;
    double temperature = 1.0;        ///< > 0; 0 means greedy
    double top_p = 1.0;              ///< keep the smallest set of tokens whose probability reaches top_p
    std::int64_t top_k = 0;          ///< keep the k most likely tokens; 0 = all
    double repetition_penalty = 1.0; ///< CTRL's penalty on every token already in the sequence (1 = off)
    std::optional<std::uint64_t> seed; ///< a fixed seed makes sampling reproducible
};

struct ChatGenerationOptions
{
    SamplingOptions sampling;
    std::int64_t max_new_tokens = 1024;
    ChatOptions chat;                     ///< enable_thinking, default_system, ...
    std::vector<std::string> stopStrings; ///< stop when the answer text contains one (it is cut there)
    bool skip_special_tokens = true;      ///< decode without special tokens (LLaMA-Board's "Skip special tokens")
};

} // namespace lathe
