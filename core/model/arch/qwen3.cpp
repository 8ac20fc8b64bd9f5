// Qwen3 (dense) — Qwen3ForCausalLM.
//
// A Llama decoder with an RMSNorm over head_dim applied to every query and key head before RoPE
// (q_norm, k_norm), `head_dim` set independently of hidden_size, and `attention_bias` for q/k/v/o.
#include "model/arch/architecture.h"

#include <nlohmann/json.hpp>

#include "model/model_config.h"
#include "util/error.h"

namespace lathe {

namespace {
void applyQwen3Traits(ModelConfig& config, const nlohmann::json& json)
{
    const bool attentionBias = field(json, "attention_bias", false);
    config.qkv_bias = attentionBias;
    config.o_bias = attentionBias;
    config.mlp_bias = false;
    config.qk_norm = true;
    if (field(json, "use_sliding_window", false))
        fail("config.json: field \"use_sliding_window\": sliding-window attention for Qwen3 is not supported yet");
}
void writeQwen3Traits(const ModelConfig& config, nlohmann::json& json)
{
    json["attention_bias"] = config.qkv_bias;
    json["use_sliding_window"] = false;
    json["sliding_window"] = nullptr;
    json["max_window_layers"] = config.num_hidden_layers;
}
} // namespace

const Architecture kQwen3Architecture = {"qwen3", "Qwen3ForCausalLM", &applyQwen3Traits, &writeQwen3Traits, "qwen3"};

} // namespace lathe
