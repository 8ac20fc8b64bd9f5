// Llama (1, 2, 3, 3.1, 3.2) — LlamaForCausalLM.
//
// The reference decoder: RMSNorm, RoPE (any scaling), grouped-query attention, SwiGLU. Optional biases:
// `attention_bias` puts biases on q/k/v/o, `mlp_bias` on gate/up/down.
#include "model/arch/architecture.h"

#include <nlohmann/json.hpp>

#include "model/model_config.h"

namespace lathe {

namespace {
void applyLlamaTraits(ModelConfig& config, const nlohmann::json& json)
{
    const bool attentionBias = field(json, "attention_bias", false);
    config.qkv_bias = attentionBias;
    config.o_bias = attentionBias;
    config.mlp_bias = field(json, "mlp_bias", false);
    config.qk_norm = false;
}
void writeLlamaTraits(const ModelConfig& config, nlohmann::json& json)
{
    json["attention_bias"] = config.qkv_bias;
    json["mlp_bias"] = config.mlp_bias;
}
} // namespace

const Architecture kLlamaArchitecture = {"llama", "LlamaForCausalLM", &applyLlamaTraits, &writeLlamaTraits, "llama"};

} // namespace lathe
