#include "model/rope.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

namespace lathe {

namespace {

// 1 / base^(arange(0, dim, 2) / dim), in float32 as transformers does.
torch::Tensor defaultInvFreq(double base, std::int64_t dim)
{
    auto exponent = torch::arange(0, dim, 2, torch::kLong).to(torch::kFloat) / dim;
    return torch::pow(base, exponent).reciprocal();
}

double yarnMscale(double scale, double mscale = 1.0)
{
    return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

} // namespace

RopeFrequencies computeRopeFrequencies(const ModelConfig& c, std::int64_t seq_len)
{
    const auto& rs = c.rope_scaling;
    const std::int64_t dim = c.rotary_dim();
    RopeFrequencies out;

    if (rs.rope_type == "default") {
        out.inv_freq = defaultInvFreq(c.rope_theta, dim);
    } else if (rs.rope_type == "linear") {
        out.inv_freq = defaultInvFreq(c.rope_theta, dim) / rs.factor;
    } else if (rs.rope_type == "dynamic") {
        const double maxPos = double(c.max_position_embeddings);
        const double len = seq_len > c.max_position_embeddings ? double(seq_len) : maxPos;
        const double base =
            c.rope_theta * std::pow((rs.factor * len / maxPos) - (rs.factor - 1.0), double(dim) / double(dim - 2));
        out.inv_freq = defaultInvFreq(base, dim);
    } else if (rs.rope_type == "llama3") {
        auto invFreq = defaultInvFreq(c.rope_theta, dim);
        const double oldContext = double(*rs.original_max_position_embeddings);
        const double lowFreqWavelen = oldContext / rs.low_freq_factor;
        const double highFreqWavelen = oldContext / rs.high_freq_factor;
        auto wavelen = 2 * M_PI / invFreq;
        auto llama = torch::where(wavelen > lowFreqWavelen, invFreq / rs.factor, invFreq);
        auto smooth = (oldContext / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
        auto smoothed = (1 - smooth) * llama / rs.factor + smooth * llama;
        auto isMedium = (wavelen < highFreqWavelen).logical_not() * (wavelen > lowFreqWavelen).logical_not();
        out.inv_freq = torch::where(isMedium, smoothed, llama);
    } else if (rs.rope_type == "longrope") {
        // _compute_longrope_parameters: 1 / (ext * base^(2i/dim)), ext the long factors past the original
        // context (seq_len > original_max_position_embeddings), the short ones otherwise.
        const double original = double(rs.original_max_position_embeddings.value_or(c.max_position_embeddings));
        const double factor = double(c.max_position_embeddings) / original;
        if (rs.attention_factor)
            out.attention_scaling = *rs.attention_factor;
        else
            out.attention_scaling = factor <= 1.0 ? 1.0 : std::sqrt(1 + std::log(factor) / std::log(original));
        const auto& ext = seq_len > 0 && double(seq_len) > original ? rs.long_factor : rs.short_factor;
        auto shape = torch::arange(0, dim, 2, torch::kLong).to(torch::kFloat) / dim;
        auto extFactors = torch::tensor(ext, torch::kFloat32);
        out.inv_freq = 1.0 / (extFactors * torch::pow(c.rope_theta, shape));
    } else if (rs.rope_type == "yarn") {
        const double factor = rs.factor;
        const double originalMax = double(rs.original_max_position_embeddings.value_or(c.max_position_embeddings));
        if (rs.attention_factor)
            out.attention_scaling = *rs.attention_factor;
        else if (rs.mscale && rs.mscale_all_dim && *rs.mscale != 0 && *rs.mscale_all_dim != 0)
            out.attention_scaling = yarnMscale(factor, *rs.mscale) / yarnMscale(factor, *rs.mscale_all_dim);
        else
            out.attention_scaling = yarnMscale(factor);
        auto correctionDim = [&](double rotations) {
            return (double(dim) * std::log(originalMax / (rotations * 2 * M_PI))) / (2 * std::log(c.rope_theta));
        };
        double low = correctionDim(rs.beta_fast), high = correctionDim(rs.beta_slow);
        if (rs.truncate) {
            low = std::floor(low);
            high = std::ceil(high);
        }
        low = std::max(low, 0.0);
        high = std::min(high, double(dim - 1));
        if (low == high)
            high += 0.001; // HF: prevent a singular ramp
        auto posFreqs = torch::pow(c.rope_theta, torch::arange(0, dim, 2).to(torch::kFloat) / dim);
        auto extrapolation = 1.0 / posFreqs;
        auto interpolation = 1.0 / (factor * posFreqs);
        auto ramp = torch::clamp((torch::arange(dim / 2, torch::kFloat32) - low) / (high - low), 0, 1);
        auto extrapolationFactor = 1 - ramp;
        out.inv_freq = interpolation * (1 - extrapolationFactor) + extrapolation * extrapolationFactor;
    }
    return out;
}

namespace {

// The config a local (sliding-window) layer's RoPE uses: rope_local_base_freq, no scaling (Gemma 3).
ModelConfig localRopeConfig(ModelConfig config, double base)
{
    config.rope_theta = base;
    config.rope_scaling = RopeScaling{};
    return config;
}

} // namespace

RotaryEmbedding::RotaryEmbedding(const ModelConfig& config, std::optional<double> localBase)
    : m_config(localBase ? localRopeConfig(config, *localBase) : config), m_freq(computeRopeFrequencies(m_config)),
      m_maxSeqLenCached(config.max_position_embeddings)
{
    if (m_config.rope_scaling.rope_type == "longrope") {
        // Phi3RotaryEmbedding._longrope_frequency_update: the short factors up to the original context, the
        // long ones past it, chosen per forward call.
        const std::int64_t original =
            m_config.rope_scaling.original_max_position_embeddings.value_or(m_config.max_position_embeddings);
        m_longFreq = computeRopeFrequencies(m_config, original + 1);
    }
}

std::pair<torch::Tensor, torch::Tensor> RotaryEmbedding::cosSin(const torch::Tensor& positions,
                                                               torch::ScalarType dtype)
{
    if (m_config.rope_scaling.rope_type == "dynamic") {
        // transformers' dynamic_rope_update: grow the frequencies with the sequence, reset when it is short again.
        const std::int64_t seqLen = positions.max().item<std::int64_t>() + 1;
        const std::int64_t original = m_config.max_position_embeddings;
        if (seqLen > m_maxSeqLenCached) {
            m_freq = computeRopeFrequencies(m_config, seqLen);
            m_maxSeqLenCached = seqLen;
        }
        if (seqLen < original && m_maxSeqLenCached > original) {
            m_freq = computeRopeFrequencies(m_config);
            m_maxSeqLenCached = original;
        }
    }
    RopeFrequencies* freq = &m_freq;
    if (m_longFreq.inv_freq.defined()) {
        const std::int64_t original =
            m_config.rope_scaling.original_max_position_embeddings.value_or(m_config.max_position_embeddings);
        if (positions.max().item<std::int64_t>() + 1 > original)
            freq = &m_longFreq;
    }
    if (freq->inv_freq.device() != positions.device())
        freq->inv_freq = freq->inv_freq.to(positions.device());
    // freqs[b, t, i] = position[b, t] * inv_freq[i]: one float32 product, the same as HF's outer-product matmul.
    auto freqs = positions.to(torch::kFloat).unsqueeze(-1) * freq->inv_freq.view({1, 1, -1});
    auto emb = m_config.rope_interleaved ? freqs.repeat_interleave(2, -1) : torch::cat({freqs, freqs}, -1);
    auto cos = emb.cos(), sin = emb.sin();
    if (freq->attention_scaling != 1.0) {
        cos = cos * freq->attention_scaling;
        sin = sin * freq->attention_scaling;
    }
    return {cos.to(dtype), sin.to(dtype)};
}

torch::Tensor applyRotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin, bool interleaved)
{
    const std::int64_t rot = cos.size(-1);
    auto c = cos.unsqueeze(1), s = sin.unsqueeze(1); // [B, 1, T, rot]
    auto rotate = [&](const torch::Tensor& t) {
        if (interleaved) {
            // GLM's rotate_half: (x0, x1, x2, x3, ...) -> (-x1, x0, -x3, x2, ...)
            auto pairs = t.unflatten(-1, {t.size(-1) / 2, 2});
            auto x1 = pairs.select(-1, 0), x2 = pairs.select(-1, 1);
            auto rotated = torch::stack({-x2, x1}, -1).flatten(-2);
            return t * c + rotated * s;
        }
        const std::int64_t half = t.size(-1) / 2;
        auto x1 = t.narrow(-1, 0, half), x2 = t.narrow(-1, half, half);
        auto rotated = torch::cat({-x2, x1}, -1);
        return t * c + rotated * s;
    };
    if (rot == x.size(-1))
        return rotate(x);
    auto xRot = x.narrow(-1, 0, rot), xPass = x.narrow(-1, rot, x.size(-1) - rot);
    return torch::cat({rotate(xRot), xPass}, -1);
}

} // namespace lathe
