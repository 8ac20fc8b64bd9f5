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
    config.qkv_bias = config.o_bias = json.value("attention_bias", false);
    config.mlp_bias = false;
    config.qk_norm = true;
    config.num_experts = json.value("num_experts", std::int64_t(128)); // Qwen3MoeConfig's defaults
    config.num_experts_per_tok = json.value("num_experts_per_tok", std::int64_t(8));
    config.moe_intermediate_size = json.value("moe_intermediate_size", std::int64_t(768));
    config.decoder_sparse_step = json.value("decoder_sparse_step", std::int64_t(1));
    config.mlp_only_layers.clear();
    if (json.contains("mlp_only_layers") && json["mlp_only_layers"].is_array())
        for (const auto& l : json["mlp_only_layers"])
            config.mlp_only_layers.push_back(l.get<std::int64_t>());
    config.norm_topk_prob = json.value("norm_topk_prob", false);
    config.router_aux_loss_coef = json.value("router_aux_loss_coef", 0.001);
}

void writeQwen3MoeTraits(const ModelConfig& config, nlohmann::json& json)
{
    json["attention_bias"] = config.qkv_bias;
    json["num_experts"] = config.num_experts;
    json["num_experts_per_tok"] = config.num_experts_per_tok;
    json["moe_intermediate_size"] = config.moe_intermediate_size;
    json["decoder_sparse_step"] = config.decoder_sparse_step;
    json["mlp_only_layers"] = config.mlp_only_layers;
    json["norm_topk_prob"] = config.norm_topk_prob;
    json["router_aux_loss_coef"] = config.router_aux_loss_coef;
    json["use_sliding_window"] = false;
    json["sliding_window"] = nullptr;
}

} // namespace

const Architecture kQwen3MoeArchitecture = {"qwen3_moe", "Qwen3MoeForCausalLM", &applyQwen3MoeTraits,
                                            &writeQwen3MoeTraits, "qwen3moe"};

} // namespace lathe
