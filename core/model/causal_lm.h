// The decoder-only transformer shared by every family (model/arch/), written after HF's modeling_*.py.
//
// Module and parameter names are the safetensors keys (model.layers.0.self_attn.q_proj.weight), so loading
// and saving need no renaming table. Family quirks come from ModelConfig's traits (see model/arch/).
//
// Shapes: B = batch, T = new tokens, S = past + new tokens, H = hidden size, D = head_dim,
// Hq = query heads, KV = key/value heads, G = Hq / KV (queries sharing one key/value head).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

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
    Linear qkv_proj{nullptr};                 ///< fused q, k, v rows (Phi-3) instead of q/k/v_proj
    RMSNorm q_norm{nullptr}, k_norm{nullptr}; ///< Qwen3, Gemma 3

private:
    std::int64_t m_layer, m_heads, m_kvHeads, m_headDim;
    double m_scaling;
    std::optional<double> m_softcap; ///< attn_logit_softcapping
    bool m_interleaved = false;      ///< interleaved RoPE pairs (GLM)
};
TORCH_MODULE(Attention);

/// The gated MLP: down(act(gate(x)) * up(x)) with act silu or gelu-tanh; gate and up fused in one
/// gate_up_proj (Phi-3, GLM), or named w1 / w3 / w2 (Mixtral's experts).
class MLPImpl : public torch::nn::Module
{
public:
    /// `inner`: the intermediate size (the config's, or an expert's).
    MLPImpl(const ModelConfig& config, std::int64_t inner, bool mixtralNames = false);
    torch::Tensor forward(const torch::Tensor& x);

    Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
    Linear gate_up_proj{nullptr};

private:
    bool m_gelu = false;
    std::int64_t m_inner = 0;
};
TORCH_MODULE(MLP);

/// Router logits of the sparse layers of one forward pass, for the load-balancing loss.
using RouterLogits = std::vector<torch::Tensor>;

/// A sparse mixture-of-experts block (Qwen3-MoE's mlp, Mixtral's block_sparse_moe): `gate` scores the
/// experts, each token goes to its top-k, whose weights are renormalised when norm_topk_prob; the experts run
/// grouped (each on the tokens routed to it), so only the routed experts' weights are read.
class SparseMoeImpl : public torch::nn::Module
{
public:
    SparseMoeImpl(const ModelConfig& config, std::shared_ptr<RouterLogits> sink);
    torch::Tensor forward(const torch::Tensor& x);
    /// Where each forward adds its router logits [tokens, experts] (the model's list), or nullptr.
    RouterLogits* sink() const { return m_sink.get(); }

    Linear gate{nullptr};
    torch::nn::ModuleList experts{nullptr};
    MLP shared_expert{nullptr};        ///< Qwen2-MoE: added to every token, gated by
    Linear shared_expert_gate{nullptr}; ///< sigmoid(shared_expert_gate(x))

private:
    std::int64_t m_topK = 2;
    bool m_normalize = true;
    std::shared_ptr<RouterLogits> m_sink;
};
TORCH_MODULE(SparseMoe);

class DecoderLayerImpl : public torch::nn::Module
{
public:
    DecoderLayerImpl(const ModelConfig& config, std::int64_t layerIndex, std::shared_ptr<RouterLogits> routerSink);
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                          const torch::Tensor& mask, KVCache* cache);

    RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
    RMSNorm pre_feedforward_layernorm{nullptr}, post_feedforward_layernorm{nullptr}; ///< Gemma 2/3
    Attention self_attn{nullptr};
    MLP mlp{nullptr};                  ///< dense layers
    SparseMoe moe{nullptr};            ///< sparse layers (registered as mlp or block_sparse_moe)
    bool slides = false;               ///< uses the sliding window (its mask and, for Gemma 3, the local RoPE)
};
TORCH_MODULE(DecoderLayer);

/// HF's `model` submodule: embeddings, layers, final norm.
class DecoderImpl : public torch::nn::Module
{
public:
    DecoderImpl(const ModelConfig& config, std::shared_ptr<RouterLogits> routerSink);

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

    /// The router load-balancing loss (Switch style, transformers' load_balancing_loss_func) of the last
    /// forward pass over the sparse layers' router logits, padding excluded via `attention_mask`; undefined
    /// for a dense model. Training adds router_aux_loss_coef times it to the loss, as LLaMA-Factory does.
    torch::Tensor routerAuxLoss(const torch::Tensor& attention_mask = {}) const;

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
                            std::int64_t B, torch::ScalarType dtype, torch::Device device,
                            std::optional<std::int64_t> slidingWindow) const;

    /// logits = c tanh(logits / c) when final_logit_softcapping is set.
    torch::Tensor softcapLogits(const torch::Tensor& logits) const;

    ModelConfig m_config;
    RotaryEmbedding m_rope;
    std::optional<RotaryEmbedding> m_localRope; ///< the sliding layers' RoPE (Gemma 3)
    std::shared_ptr<RouterLogits> m_routerLogits = std::make_shared<RouterLogits>();
    bool m_gradientCheckpointing = false;
    double m_neftuneAlpha = 0;
};
TORCH_MODULE(CausalLM);

} // namespace lathe
