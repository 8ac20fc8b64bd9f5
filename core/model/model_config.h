// The architecture hyper-parameters of a decoder-only model, read straight from Hugging Face's config.json.
//
// Field names follow the JSON keys so a reader can check one against the other. Architecture quirks
// (Qwen2's q/k/v biases, Qwen3's q/k norms) are filled in by the architecture's own file (model/arch/).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lathe {

/// `rope_scaling` of config.json (HF's RoPE variants).
struct RopeScaling
{
    std::string rope_type = "default";   ///< default, linear, dynamic, llama3, yarn
    double factor = 1.0;
    double low_freq_factor = 1.0;        ///< llama3
    double high_freq_factor = 4.0;       ///< llama3
    std::optional<std::int64_t> original_max_position_embeddings; ///< llama3 (required), yarn (optional)
    std::optional<double> attention_factor; ///< yarn
    double beta_fast = 32.0;             ///< yarn
    double beta_slow = 1.0;              ///< yarn
    std::optional<double> mscale;        ///< yarn
    std::optional<double> mscale_all_dim; ///< yarn
    bool truncate = true;                ///< yarn
    std::vector<double> long_factor, short_factor; ///< longrope (Phi-3): per-frequency extension factors
};

struct ModelConfig
{
    std::string model_type;              ///< llama, mistral, qwen2, qwen3, gemma2, gemma3_text, phi3, glm, qwen3_moe, mixtral
    std::string architecture;            ///< HF class, e.g. Qwen3ForCausalLM
    std::int64_t vocab_size = 0;
    std::int64_t hidden_size = 0;
    std::int64_t intermediate_size = 0;
    std::int64_t num_hidden_layers = 0;
    std::int64_t num_attention_heads = 0;
    std::int64_t num_key_value_heads = 0;
    std::int64_t head_dim = 0;           ///< may differ from hidden_size / num_attention_heads (Qwen3)
    std::int64_t max_position_embeddings = 2048;
    double rms_norm_eps = 1e-6;
    double rope_theta = 10000.0;
    double partial_rotary_factor = 1.0;
    RopeScaling rope_scaling;
    bool tie_word_embeddings = false;
    std::string hidden_act = "silu";
    std::optional<std::int64_t> sliding_window; ///< set only when the model really uses one (Mistral)
    std::optional<std::int64_t> bos_token_id;
    std::vector<std::int64_t> eos_token_ids;
    std::optional<std::int64_t> pad_token_id;
    std::string torch_dtype = "float32"; ///< dtype the weights were saved in
    double initializer_range = 0.02;

    // Architecture traits (set by model/arch/<family>.cpp, not read as-is from JSON).
    bool qkv_bias = false;               ///< biases on q_proj/k_proj/v_proj (Qwen2, or Llama's attention_bias)
    bool o_bias = false;                 ///< bias on o_proj (Llama's attention_bias)
    bool mlp_bias = false;               ///< biases on gate/up/down (Llama's mlp_bias)
    bool qk_norm = false;                ///< RMSNorm over head_dim on q and k (Qwen3)
    bool norm_offset_one = false;        ///< RMSNorm multiplies by (1 + w) in float32 (Gemma)
    bool sandwich_norm = false;          ///< norms before and after attention and MLP (Gemma 2/3)
    double embedding_scale = 1.0;        ///< embeddings times this (Gemma: sqrt(hidden_size))
    std::optional<double> query_pre_attn_scalar;   ///< attention scale scalar^-0.5 instead of head_dim^-0.5
    std::optional<double> attn_logit_softcapping;  ///< scores = c tanh(scores / c) (Gemma 2)
    std::optional<double> final_logit_softcapping; ///< logits = c tanh(logits / c) (Gemma 2/3)
    /// Layers that use sliding_window (empty: every layer when sliding_window is set).
    std::vector<bool> sliding_layers;
    std::optional<double> rope_local_base_freq; ///< RoPE base of the sliding layers, without scaling (Gemma 3)
    bool rope_interleaved = false;       ///< rotate pairs (x[2i], x[2i+1]) instead of halves (GLM)
    bool fused_qkv = false;              ///< one qkv_proj: q rows, then k, then v (Phi-3)
    bool fused_gate_up = false;          ///< one gate_up_proj: gate rows, then up (Phi-3, GLM)
    // Mixture of experts (Qwen3-MoE, Mixtral).
    std::int64_t num_experts = 0;        ///< experts per sparse layer (0: dense model)
    std::int64_t num_experts_per_tok = 0;
    std::int64_t moe_intermediate_size = 0;
    std::int64_t decoder_sparse_step = 1;
    std::vector<std::int64_t> mlp_only_layers;
    bool norm_topk_prob = true;
    double router_aux_loss_coef = 0;
    bool mixtral_names = false;          ///< block_sparse_moe.experts.N.w1/w3/w2 instead of mlp.experts.N.*_proj
    std::int64_t shared_expert_intermediate_size = 0; ///< a shared expert gated by sigmoid(shared_expert_gate) (Qwen2-MoE)

    /// Whether layer `i` uses the sliding window.
    bool layerSlides(std::int64_t i) const
    {
        return sliding_window && (sliding_layers.empty() || (std::size_t(i) < sliding_layers.size() && sliding_layers[std::size_t(i)]));
    }
    /// Whether layer `i` has a sparse mixture-of-experts block instead of a dense MLP.
    bool layerIsSparse(std::int64_t i) const
    {
        if (num_experts <= 0)
            return false;
        for (auto l : mlp_only_layers)
            if (l == i)
                return false;
        return (i + 1) % std::max<std::int64_t>(1, decoder_sparse_step) == 0;
    }

    /// Number of query heads sharing one key/value head.
    std::int64_t groups() const { return num_attention_heads / num_key_value_heads; }
    /// Dimension RoPE rotates (head_dim * partial_rotary_factor).
    std::int64_t rotary_dim() const { return static_cast<std::int64_t>(head_dim * partial_rotary_factor); }

    /// Parses config.json text; `source` names the file in errors. Throws lathe::Error.
    static ModelConfig fromJson(const nlohmann::json& json, const std::string& source);
    /// Reads `<dir>/config.json`.
    static ModelConfig fromDir(const std::string& dir);
    /// The config.json transformers would write for this model.
    nlohmann::json toJson() const;
    /// Checks ranges and consistency; throws lathe::Error naming `source` and the field.
    void validate(const std::string& source) const;
};

/// The rope_scaling argument (LLaMA-Factory's configure_rope): replaces the config's RoPE scaling with `type`
/// (linear, dynamic, yarn or llama3; "" leaves the config alone). When training, `modelMaxLength` is the
/// cutoff_len: longer than max_position_embeddings, the context is enlarged to it and the factor is
/// ceil(cutoff_len / max_position_embeddings); not longer, scaling is left off. Without it (inference) the
/// factor is 2. The original context goes to original_max_position_embeddings (llama3 also gets the
/// low/high frequency factors 1 and 4). Returns what was done, for the log; throws lathe::Error for an
/// unknown type.
std::string applyRopeScalingArgument(ModelConfig& config, const std::string& type,
                                     std::optional<std::int64_t> modelMaxLength);

} // namespace lathe
