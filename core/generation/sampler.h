// Next-token choice as transformers' generate makes it: the repetition penalty (a logits processor, so it also
// applies to greedy decoding), then for sampling the temperature, top-k and top-p warpers in that order, then a
// draw from the softmax. do_sample false (or temperature 0, as LLaMA-Factory's chat engine treats it) is argmax.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <torch/types.h>

#include "generation/generation_options.h"

namespace lathe {

class Sampler
{
public:
    explicit Sampler(const SamplingOptions& options);

    /// Picks the next token from `logits` (float32 [V]); `sequence` is the prompt plus the tokens generated so
    /// far (for the repetition penalty). Throws lathe::Error when the logits hold NaN or every token is masked.
    std::int64_t next(const torch::Tensor& logits, const std::vector<std::int64_t>& sequence);

    /// The same for a batch: logits [B, V], one sequence per row.
    std::vector<std::int64_t> next(const torch::Tensor& logits, const std::vector<std::vector<std::int64_t>>& sequences);

    bool greedy() const { return !m_options.do_sample || m_options.temperature <= 0; }

private:
    /// The processed scores of one row (repetition penalty and warpers applied; -inf for removed tokens).
    torch::Tensor process(torch::Tensor logits, const std::vector<std::int64_t>& sequence) const;

    SamplingOptions m_options;
    torch::Generator m_generator;
};

} // namespace lathe
