// Gemma 3, text only — Gemma3ForCausalLM, model_type gemma3_text (transformers/models/gemma3/modeling_gemma3.py).
//
// Gemma 2's decoder (sqrt(hidden) embedding scale, (1 + w) norms, four norms per layer, gelu-tanh MLP,
// query_pre_attn_scalar, the final soft-cap when set) plus per-head q/k norms ((1 + w) RMSNorm over head_dim)
// before RoPE, and a local/global layer pattern: layer i is local iff (i + 1) % sliding_window_pattern != 0.
// Local layers attend within sliding_window and use RoPE with rope_local_base_freq and no scaling; global
// layers attend to everything with rope_theta and rope_scaling. This transformers version applies no
// attention soft-cap for Gemma 3.
#include "model/arch/architecture.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "model/model_config.h"

namespace lathe {

namespace {

void applyGemma3Traits(ModelConfig& config, const nlohmann::json& json)
{
    config.qkv_bias = config.o_bias = field(json, "attention_bias", false);
    config.mlp_bias = false;
    config.qk_norm = true;
    config.norm_offset_one = true;
    config.sandwich_norm = true;
    config.embedding_scale = std::sqrt(double(config.hidden_size));
    config.hidden_act = field(json, "hidden_activation", field(json, "hidden_act", std::string("gelu_pytorch_tanh")));
    config.query_pre_attn_scalar =
        json.contains("query_pre_attn_scalar") && json["query_pre_attn_scalar"].is_number()
            ? json["query_pre_attn_scalar"].get<double>()
            : 256.0;
    config.attn_logit_softcapping.reset();
    if (json.contains("final_logit_softcapping") && json["final_logit_softcapping"].is_number())
        config.final_logit_softcapping = json["final_logit_softcapping"].get<double>();
    config.tie_word_embeddings = field(json, "tie_word_embeddings", true);
    config.rope_local_base_freq = field(json, "rope_local_base_freq", 10000.0);
    const std::int64_t pattern = field(json, "sliding_window_pattern", std::int64_t(6));
    if (json.contains("sliding_window") && json["sliding_window"].is_number_integer()) {
        config.sliding_window = json["sliding_window"].get<std::int64_t>();
        config.sliding_layers.clear();
        for (std::int64_t i = 0; i < config.num_hidden_layers; ++i)
            config.sliding_layers.push_back(pattern <= 0 || (i + 1) % pattern != 0);
    }
}

void writeGemma3Traits(const ModelConfig& config, nlohmann::json& json)
{
    json.erase("hidden_act");
    json["hidden_activation"] = config.hidden_act;
    json["query_pre_attn_scalar"] = config.query_pre_attn_scalar.value_or(256.0);
    json["final_logit_softcapping"] =
        config.final_logit_softcapping ? nlohmann::json(*config.final_logit_softcapping) : nlohmann::json(nullptr);
    json["attn_logit_softcapping"] = nullptr;
    json["rope_local_base_freq"] = config.rope_local_base_freq.value_or(10000.0);
    json["sliding_window"] = config.sliding_window ? nlohmann::json(*config.sliding_window) : nlohmann::json(4096);
    std::int64_t pattern = 6;
    for (std::size_t i = 0; i < config.sliding_layers.size(); ++i)
        if (!config.sliding_layers[i]) {
            pattern = std::int64_t(i) + 1;
            break;
        }
    json["sliding_window_pattern"] = pattern;
    json["attention_bias"] = config.qkv_bias;
}

} // namespace

const Architecture kGemma3TextArchitecture = {"gemma3_text", "Gemma3ForCausalLM", &applyGemma3Traits,
                                              &writeGemma3Traits, "gemma3"};

} // namespace lathe
