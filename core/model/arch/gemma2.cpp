// Gemma 2 — Gemma2ForCausalLM (transformers/models/gemma2/modeling_gemma2.py).
//
// Embeddings times sqrt(hidden_size); every RMSNorm multiplies by (1 + w) in float32; four norms per layer
// (before and after attention, before and after the MLP); a gelu-tanh MLP; attention scaled by
// query_pre_attn_scalar^-0.5 and soft-capped (c tanh(s / c)) before the mask; a sliding window on the layers
// with an even index; the final logits soft-capped. Embeddings are tied unless the config says otherwise.
#include "model/arch/architecture.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "model/model_config.h"

namespace lathe {

namespace {

std::optional<double> optionalNumber(const nlohmann::json& json, const char* key)
{
    if (json.contains(key) && json[key].is_number())
        return json[key].get<double>();
    return std::nullopt;
}

void applyGemma2Traits(ModelConfig& config, const nlohmann::json& json)
{
    config.qkv_bias = config.o_bias = field(json, "attention_bias", false);
    config.mlp_bias = false;
    config.qk_norm = false;
    config.norm_offset_one = true;
    config.sandwich_norm = true;
    config.embedding_scale = std::sqrt(double(config.hidden_size));
    config.hidden_act = field(json, "hidden_activation", field(json, "hidden_act", std::string("gelu_pytorch_tanh")));
    config.query_pre_attn_scalar = optionalNumber(json, "query_pre_attn_scalar").value_or(256.0);
    config.attn_logit_softcapping = optionalNumber(json, "attn_logit_softcapping");
    config.final_logit_softcapping = optionalNumber(json, "final_logit_softcapping");
    config.tie_word_embeddings = field(json, "tie_word_embeddings", true);
    if (json.contains("sliding_window") && json["sliding_window"].is_number_integer()) {
        config.sliding_window = json["sliding_window"].get<std::int64_t>();
        config.sliding_layers.clear();
        for (std::int64_t i = 0; i < config.num_hidden_layers; ++i)
            config.sliding_layers.push_back(i % 2 == 0);
    }
}

void writeGemma2Traits(const ModelConfig& config, nlohmann::json& json)
{
    json.erase("hidden_act");
    json["hidden_activation"] = config.hidden_act;
    json["query_pre_attn_scalar"] = config.query_pre_attn_scalar.value_or(256.0);
    json["attn_logit_softcapping"] =
        config.attn_logit_softcapping ? nlohmann::json(*config.attn_logit_softcapping) : nlohmann::json(nullptr);
    json["final_logit_softcapping"] =
        config.final_logit_softcapping ? nlohmann::json(*config.final_logit_softcapping) : nlohmann::json(nullptr);
    json["sliding_window"] = config.sliding_window ? nlohmann::json(*config.sliding_window) : nlohmann::json(4096);
    json["attention_bias"] = config.qkv_bias;
}

} // namespace

const Architecture kGemma2Architecture = {"gemma2", "Gemma2ForCausalLM", &applyGemma2Traits, &writeGemma2Traits,
                                          "gemma2"};

} // namespace lathe
