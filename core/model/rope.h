// Rotary position embeddings exactly as transformers computes them (modeling_rope_utils.py).
//
// The inverse frequencies are computed with the same float32 torch operations in the same order, so cos
// and sin match HF bit for bit. Variants: default, linear, dynamic (NTK, recomputed as the sequence
// grows, like HF's dynamic_rope_update), llama3 (Llama 3.1 smoothing) and yarn.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

#include <torch/types.h>

#include "model/model_config.h"

namespace lathe {

/// inv_freq [rotary_dim/2] (float32) and the factor cos/sin are multiplied by.
struct RopeFrequencies
{
    torch::Tensor inv_freq;
    double attention_scaling = 1.0;
};

/// The RoPE parameters for `config`; `seq_len` matters only to dynamic scaling (0: the configured maximum).
RopeFrequencies computeRopeFrequencies(const ModelConfig& config, std::int64_t seq_len = 0);

class RotaryEmbedding
{
public:
    /// `localBase`: the RoPE of a local (sliding-window) layer with that base and no scaling (Gemma 3).
    explicit RotaryEmbedding(const ModelConfig& config, std::optional<double> localBase = std::nullopt);

    /// cos and sin [B, T, rotary_dim] in `dtype` for integer `positions` [B, T].
    std::pair<torch::Tensor, torch::Tensor> cosSin(const torch::Tensor& positions, torch::ScalarType dtype);

private:
    ModelConfig m_config;
    RopeFrequencies m_freq;
    RopeFrequencies m_longFreq; ///< longrope: the frequencies past the original context
    std::int64_t m_maxSeqLenCached;
};

/// Applies the rotation to x [B, heads, T, head_dim] with cos/sin [B, T, rotary_dim] (HF's rotate_half form, or
/// GLM's interleaved pairs); dimensions past rotary_dim pass through.
torch::Tensor applyRotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                          bool interleaved = false);

} // namespace lathe
