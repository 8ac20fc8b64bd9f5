// Mixtral — MixtralForCausalLM (transformers/models/mixtral/modeling_mixtral.py).
//
// Llama attention (optional sliding window on every layer) and a sparse block in every layer:
// block_sparse_moe.gate routes each token to its top num_experts_per_tok of num_local_experts experts
// w2(silu(w1 x) * w3 x) of intermediate_size, the chosen weights always renormalised to sum to 1. The router's
// load-balancing loss times router_aux_loss_coef joins the training loss.
#include "model/arch/architecture.h"

#include <nlohmann/json.hpp>

#include "model/model_config.h"

namespace lathe {

namespace {

void applyMixtralTraits(ModelConfig& config, const nlohmann::json& json)
{
    config.qkv_bias = config.o_bias = config.mlp_bias = false;
    config.qk_norm = false;
    config.mixtral_names = true;
    config.num_experts = field(json, "num_local_experts", std::int64_t(8));
    config.num_experts_per_tok = field(json, "num_experts_per_tok", std::int64_t(2));
    config.moe_intermediate_size = config.intermediate_size;
    config.decoder_sparse_step = 1;
    config.norm_topk_prob = true;
    config.router_aux_loss_coef = field(json, "router_aux_loss_coef", 0.001);
    if (json.contains("sliding_window") && json["sliding_window"].is_number_integer())
        config.sliding_window = json["sliding_window"].get<std::int64_t>();
}

void writeMixtralTraits(const ModelConfig& config, nlohmann::json& json)
{
    json["num_local_experts"] = config.num_experts;
    json["num_experts_per_tok"] = config.num_experts_per_tok;
    json["router_aux_loss_coef"] = config.router_aux_loss_coef;
    json["sliding_window"] = config.sliding_window ? nlohmann::json(*config.sliding_window) : nlohmann::json(nullptr);
}

} // namespace

// llama.cpp runs Mixtral as its "llama" graph with experts.
const Architecture kMixtralArchitecture = {"mixtral", "MixtralForCausalLM", &applyMixtralTraits, &writeMixtralTraits,
                                           "llama"};

} // namespace lathe
