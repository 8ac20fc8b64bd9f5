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
    config.num_experts = json.value("num_experts", std::int64_t(60)); // Qwen2MoeConfig's defaults
    config.num_experts_per_tok = json.value("num_experts_per_tok", std::int64_t(4));
    config.moe_intermediate_size = json.value("moe_intermediate_size", std::int64_t(1408));
    config.shared_expert_intermediate_size = json.value("shared_expert_intermediate_size", std::int64_t(5632));
    config.decoder_sparse_step = json.value("decoder_sparse_step", std::int64_t(1));
    config.mlp_only_layers.clear();
    if (json.contains("mlp_only_layers") && json["mlp_only_layers"].is_array())
        for (const auto& l : json["mlp_only_layers"])
            config.mlp_only_layers.push_back(l.get<std::int64_t>());
    config.norm_topk_prob = json.value("norm_topk_prob", false);
    config.router_aux_loss_coef = json.value("router_aux_loss_coef", 0.001);
    if (json.value("use_sliding_window", false))
        fail("config.json: field \"use_sliding_window\": sliding-window attention for Qwen2-MoE is not supported yet");
}

void writeQwen2MoeTraits(const ModelConfig& config, nlohmann::json& json)
{
    json["num_experts"] = config.num_experts;
    json["num_experts_per_tok"] = config.num_experts_per_tok;
    json["moe_intermediate_size"] = config.moe_intermediate_size;
    json["shared_expert_intermediate_size"] = config.shared_expert_intermediate_size;
    json["decoder_sparse_step"] = config.decoder_sparse_step;
    json["mlp_only_layers"] = config.mlp_only_layers;
    json["norm_topk_prob"] = config.norm_topk_prob;
    json["router_aux_loss_coef"] = config.router_aux_loss_coef;
    json["use_sliding_window"] = false;
    json["sliding_window"] = nullptr;
}

} // namespace

const Architecture kQwen2MoeArchitecture = {"qwen2_moe", "Qwen2MoeForCausalLM", &applyQwen2MoeTraits,
                                            &writeQwen2MoeTraits};

} // namespace lathe
