// Token generation on a CausalLM: greedy or sampled (sampler.h), with or without the KV cache, single or
// batched, with a per-token callback for streaming and a cancel flag.
//
// Batches are left-padded (as HF generate requires): pads get attention_mask 0 and positions follow the
// mask, so every row decodes exactly as it would alone.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "generation/sampler.h"
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
    /// Greedy unless sampling.do_sample (and temperature > 0).
    SamplingOptions sampling;
    /// Called with each generated token (a stop token included); returning false stops generation there
    /// (finish_reason "stop"). Single-sequence generate() only.
    std::function<bool(std::int64_t)> on_token;
    /// Set from another thread to stop after the current token (finish_reason "cancelled").
    const std::atomic<bool>* cancel = nullptr;
};

struct GenerationResult
{
    std::vector<std::int64_t> output_ids; ///< generated tokens only
    torch::Tensor logits_last;            ///< float32 [V]: logits at the last prompt position
    double prefill_seconds = 0;
    double decode_seconds = 0;
    /// "stop" (a stop token, or on_token said so), "length" (max_new_tokens) or "cancelled".
    std::string finish_reason;
};

/// Generates after `input_ids` as options say. Throws lathe::Error for ids outside the vocabulary.
GenerationResult generate(CausalLM& model, const std::vector<std::int64_t>& input_ids,
                          const GenerationOptions& options);

/// generate() with options.sampling ignored: argmax at every step.
GenerationResult greedyGenerate(CausalLM& model, const std::vector<std::int64_t>& input_ids,
                                const GenerationOptions& options);

/// Generation for several prompts at once (left padding, per-row stopping). Returns generated ids per
/// prompt. Greedy unless options.sampling says otherwise; honours options.cancel.
std::vector<std::vector<std::int64_t>> generateBatch(CausalLM& model,
                                                     const std::vector<std::vector<std::int64_t>>& prompts,
                                                     const GenerationOptions& options);

/// generateBatch() with options.sampling ignored.
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
