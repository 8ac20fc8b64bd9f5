// Gemma (1) — GemmaForCausalLM (transformers/models/gemma/modeling_gemma.py).
//
// A Llama decoder with embeddings times sqrt(hidden_size), RMSNorms that multiply by (1 + w) in float32, and a
// gelu-tanh MLP; no post-norms, soft-caps or windows (those came with Gemma 2). Embeddings are tied unless the
// config says otherwise.
#include "model/arch/architecture.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "model/model_config.h"

namespace lathe {

namespace {

void applyGemmaTraits(ModelConfig& config, const nlohmann::json& json)
{
    config.qkv_bias = config.o_bias = field(json, "attention_bias", false);
    config.mlp_bias = false;
    config.qk_norm = false;
    config.norm_offset_one = true;
    config.embedding_scale = std::sqrt(double(config.hidden_size));
    // GemmaConfig: hidden_activation wins over the legacy hidden_act ("gelu" meant the tanh approximation).
    std::string act = field(json, "hidden_activation", std::string());
    if (act.empty() || act == "gelu")
        act = "gelu_pytorch_tanh";
    config.hidden_act = act;
    config.tie_word_embeddings = field(json, "tie_word_embeddings", true);
}

void writeGemmaTraits(const ModelConfig& config, nlohmann::json& json)
{
    json.erase("hidden_act");
    json["hidden_activation"] = config.hidden_act;
    json["attention_bias"] = config.qkv_bias;
}

} // namespace

const Architecture kGemmaArchitecture = {"gemma", "GemmaForCausalLM", &applyGemmaTraits, &writeGemmaTraits};

} // namespace lathe
