// Qwen2-MoE (Qwen1.5-MoE, Qwen2-57B-A14B) — Qwen2MoeForCausalLM (transformers/models/qwen2_moe/modeling_qwen2_moe.py).
//
// Qwen2's attention (q/k/v biases, no q/k norms) with Qwen3-MoE's sparse blocks (decoder_sparse_step,
// mlp_only_layers, top num_experts_per_tok of num_experts experts of moe_intermediate_size, renormalised when
// norm_topk_prob) plus a shared expert of shared_expert_intermediate_size added to every token, gated by
// sigmoid(shared_expert_gate(x)). Sliding-window attention (use_sliding_window) is refused as for Qwen2.
#include "model/arch/architecture.h"

#include <nlohmann/json.hpp>

#include "model/model_config.h"
#include "util/error.h"

namespace lathe {

namespace {

void applyQwen2MoeTraits(ModelConfig& config, const nlohmann::json& json)
{
    config.qkv_bias = true;
    config.o_bias = config.mlp_bias = false;
    config.qk_norm = false;
    readQwenMoeKeys(config, json, {60, 4, 1408}); // Qwen2MoeConfig's defaults
    config.shared_expert_intermediate_size = field(json, "shared_expert_intermediate_size", std::int64_t(5632));
    if (field(json, "use_sliding_window", false))
        fail("config.json: field \"use_sliding_window\": sliding-window attention for Qwen2-MoE is not supported yet");
}

void writeQwen2MoeTraits(const ModelConfig& config, nlohmann::json& json)
{
    writeQwenMoeKeys(config, json);
    json["shared_expert_intermediate_size"] = config.shared_expert_intermediate_size;
}

} // namespace

const Architecture kQwen2MoeArchitecture = {"qwen2_moe", "Qwen2MoeForCausalLM", &applyQwen2MoeTraits,
                                            &writeQwen2MoeTraits};

} // namespace lathe
