// Token generation on a CausalLM: greedy decoding with or without the KV cache, single or batched.
//
// Batches are left-padded (as HF generate requires): pads get attention_mask 0 and positions follow the
// mask, so every row decodes exactly as it would alone. Sampling arrives with the inference issue.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "model/causal_lm.h"

namespace lathe {

struct GenerationOptions
{
    /// Tokens to generate after the prompt.
    std::int64_t max_new_tokens = 32;
    /// Reuse keys/values of earlier tokens (false recomputes the whole sequence each step, for checking).
    bool use_cache = true;
    /// Stop a sequence when it emits one of these (empty: never stop early).
    std::vector<std::int64_t> eos_token_ids;
    /// Id used to fill finished rows and left padding.
    std::int64_t pad_token_id = 0;
};

struct GenerationResult
{
    std::vector<std::int64_t> output_ids; ///< generated tokens only
    torch::Tensor logits_last;            ///< float32 [V]: logits at the last prompt position
    double prefill_seconds = 0;
    double decode_seconds = 0;
};

GenerationResult greedyGenerate(CausalLM& model, const std::vector<std::int64_t>& input_ids,
                                const GenerationOptions& options);

/// Greedy generation for several prompts at once (left padding). Returns generated ids per prompt.
std::vector<std::vector<std::int64_t>> greedyGenerateBatch(CausalLM& model,
                                                           const std::vector<std::vector<std::int64_t>>& prompts,
                                                           const GenerationOptions& options);

/// Mean next-token loss over `input_ids` (labels = input_ids) and exp(loss).
struct PerplexityResult
{
    double loss = 0;
    double perplexity = 0;
    std::int64_t tokens = 0;
};
PerplexityResult perplexity(CausalLM& model, const std::vector<std::int64_t>& input_ids);

} // namespace lathe
