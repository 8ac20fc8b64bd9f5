// The decoder-only transformer shared by Llama, Mistral, Qwen2 and Qwen3, written after HF's modeling_*.py.
//
// Module and parameter names are the safetensors keys (model.layers.0.self_attn.q_proj.weight), so loading
// and saving need no renaming table. Family quirks come from ModelConfig's traits (see model/arch/).
//
// Shapes: B = batch, T = new tokens, S = past + new tokens, H = hidden size, D = head_dim,
// Hq = query heads, KV = key/value heads, G = Hq / KV (queries sharing one key/value head).
#pragma once

#include <cstdint>
#include <memory>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "model/kv_cache.h"
#include "model/layers.h"
#include "model/model_config.h"
#include "model/rope.h"

namespace lathe {

class AttentionImpl : public torch::nn::Module
{
public:
    AttentionImpl(const ModelConfig& config, std::int64_t layerIndex);
    /// x [B, T, H]; cos/sin [B, T, rot]; mask additive [B, 1, T, S] or undefined (no masking needed).
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                          const torch::Tensor& mask, KVCache* cache);

    Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
    RMSNorm q_norm{nullptr}, k_norm{nullptr}; ///< Qwen3 only

private:
    std::int64_t m_layer, m_heads, m_kvHeads, m_headDim;
    double m_scaling;
};
TORCH_MODULE(Attention);

class MLPImpl : public torch::nn::Module
{
public:
    explicit MLPImpl(const ModelConfig& config);
    torch::Tensor forward(const torch::Tensor& x); ///< down(silu(gate(x)) * up(x))

    Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(MLP);

class DecoderLayerImpl : public torch::nn::Module
{
public:
    DecoderLayerImpl(const ModelConfig& config, std::int64_t layerIndex);
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                          const torch::Tensor& mask, KVCache* cache);

    RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
    Attention self_attn{nullptr};
    MLP mlp{nullptr};
};
TORCH_MODULE(DecoderLayer);

/// HF's `model` submodule: embeddings, layers, final norm.
class DecoderImpl : public torch::nn::Module
{
public:
    explicit DecoderImpl(const ModelConfig& config);

    Embedding embed_tokens{nullptr};
    torch::nn::ModuleList layers{nullptr};
    RMSNorm norm{nullptr};
};
TORCH_MODULE(Decoder);

/// The language model: `model` + `lm_head` (absent when embeddings are tied).
class CausalLMImpl : public torch::nn::Module
{
public:
    explicit CausalLMImpl(const ModelConfig& config);

    /// Final hidden states [B, T, H] for input_ids [B, T].
    /// attention_mask: [B, S] of 1 (token) / 0 (padding) covering past and new tokens; undefined = all ones.
    /// Positions follow HF generate: cumsum(mask) - 1, so left padding does not shift them.
    /// `position_ids` [B, T], when given, replaces those positions (a training forward passes 0..T-1 as HF's
    /// Trainer does, which differs from generation's only at right-padding positions).
    torch::Tensor hiddenStates(const torch::Tensor& input_ids, const torch::Tensor& attention_mask = {},
                               KVCache* cache = nullptr, const torch::Tensor& position_ids = {});
    /// Logits in the compute dtype for hidden states [..., H].
    torch::Tensor lmHead(const torch::Tensor& hidden);
    /// Float32 logits [B, T, V].
    torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask = {},
                          KVCache* cache = nullptr);
    /// Mean next-token cross-entropy: logits at t predict labels at t+1; labels of -100 are ignored (HF).
    torch::Tensor loss(const torch::Tensor& input_ids, const torch::Tensor& labels,
                       const torch::Tensor& attention_mask = {});

    /// Sum of next-token cross-entropy over the labeled positions, and their count, for token-weighted
    /// averages across micro-batches (gradient accumulation). lm_head runs only where a label is learned,
    /// which for supervised data skips the prompt's share of the largest matmul.
    std::pair<torch::Tensor, std::int64_t> tokenLoss(const torch::Tensor& input_ids, const torch::Tensor& labels,
                                                     const torch::Tensor& attention_mask = {});

    /// log p(label at t+1 | tokens up to t) for every position of hidden states [B, T, H], float32 [B, T-1],
    /// 0 where the label is -100 (LLaMA-Factory's get_batch_logps before its sum). lm_head runs only at the
    /// labeled positions and the [n, V] logits are never kept for the backward pass while the head itself is
    /// frozen (LoRA, freeze tuning).
    torch::Tensor labelLogProbs(const torch::Tensor& hidden, const torch::Tensor& labels);

    /// The sum of the float32 logits over all positions and the whole vocabulary of each row [B], from hidden
    /// states [B, T, H] without forming the logits (the head is linear): what LLaMA-Factory's logits/* metrics
    /// average. No gradient.
    torch::Tensor logitSums(const torch::Tensor& hidden);

    /// NEFTune (neftune_noise_alpha): uniform noise of magnitude alpha / sqrt(T * H) added to the input
    /// embeddings in training mode; 0 disables it.
    void setNeftuneAlpha(double alpha) { m_neftuneAlpha = alpha; }

    /// Recompute each layer in the backward pass instead of keeping its activations (training only).
    void setGradientCheckpointing(bool enabled) { m_gradientCheckpointing = enabled; }
    bool gradientCheckpointing() const { return m_gradientCheckpointing; }

    const ModelConfig& config() const { return m_config; }
    /// The dtype of the weights (the compute dtype).
    torch::ScalarType dtype() const;
    torch::Device device() const;
    KVCache makeCache() const { return KVCache(m_config.num_hidden_layers); }

    Decoder model{nullptr};
    Linear lm_head{nullptr}; ///< null when tie_word_embeddings

private:
    torch::Tensor buildMask(const torch::Tensor& attention_mask, std::int64_t past, std::int64_t T,
                            std::int64_t B, torch::ScalarType dtype, torch::Device device) const;

    ModelConfig m_config;
    RotaryEmbedding m_rope;
    bool m_gradientCheckpointing = false;
    double m_neftuneAlpha = 0;
};
TORCH_MODULE(CausalLM);

} // namespace lathe
