// Qwen3-MoE — Qwen3MoeForCausalLM (transformers/models/qwen3_moe/modeling_qwen3_moe.py).
//
// Qwen3's attention (q/k norms, no biases) with sparse mixture-of-experts blocks: layer L is sparse iff it is
// not in mlp_only_layers and (L + 1) % decoder_sparse_step == 0; a sparse block routes each token to its top
// num_experts_per_tok of num_experts SwiGLU experts of moe_intermediate_size (mlp.gate, mlp.experts.N.*_proj),
// renormalising the weights when norm_topk_prob; the other layers keep a dense MLP of intermediate_size. The
// router's load-balancing loss times router_aux_loss_coef joins the training loss.
#include "model/arch/architecture.h"

#include <nlohmann/json.hpp>

#include "model/model_config.h"

namespace lathe {

namespace {

void applyQwen3MoeTraits(ModelConfig& config, const nlohmann::json& json)
{
    config.qkv_bias = config.o_bias = field(json, "attention_bias", false);
    config.mlp_bias = false;
    config.qk_norm = true;
    readQwenMoeKeys(config, json, {128, 8, 768}); // Qwen3MoeConfig's defaults
}

void writeQwen3MoeTraits(const ModelConfig& config, nlohmann::json& json)
{
    json["attention_bias"] = config.qkv_bias;
    writeQwenMoeKeys(config, json);
}

} // namespace

const Architecture kQwen3MoeArchitecture = {"qwen3_moe", "Qwen3MoeForCausalLM", &applyQwen3MoeTraits,
                                            &writeQwen3MoeTraits, "qwen3moe"};

} // namespace lathe
