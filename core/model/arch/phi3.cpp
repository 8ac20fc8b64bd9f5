// Phi-3 and Phi-4 — Phi3ForCausalLM (transformers/models/phi3/modeling_phi3.py).
//
// A Llama decoder with one fused qkv_proj (q rows, then k, then v) and one fused gate_up_proj (gate rows, then
// up), RoPE on the first partial_rotary_factor of head_dim, LongRoPE scaling ("longrope"; the old names "su"
// and "yarn" with long/short factors mean the same) switched by original_max_position_embeddings, and a
// sliding window on every layer. LoRA on the fused modules is one A/B pair for the whole projection, so the
// layers stay fused and split their output.
#include "model/arch/architecture.h"

#include <nlohmann/json.hpp>

#include "model/model_config.h"

namespace lathe {

namespace {

void applyPhi3Traits(ModelConfig& config, const nlohmann::json& json)
{
    config.qkv_bias = config.o_bias = config.mlp_bias = false;
    config.qk_norm = false;
    config.fused_qkv = true;
    config.fused_gate_up = true;
    config.head_dim = config.hidden_size / config.num_attention_heads;
    if (json.contains("sliding_window") && json["sliding_window"].is_number_integer())
        config.sliding_window = json["sliding_window"].get<std::int64_t>();
    auto& rs = config.rope_scaling;
    if (!rs.long_factor.empty() && (rs.rope_type == "su" || rs.rope_type == "yarn"))
        rs.rope_type = "longrope";
    if (!rs.original_max_position_embeddings && json.contains("original_max_position_embeddings") &&
        json["original_max_position_embeddings"].is_number_integer())
        rs.original_max_position_embeddings = json["original_max_position_embeddings"].get<std::int64_t>();
}

void writePhi3Traits(const ModelConfig& config, nlohmann::json& json)
{
    json["sliding_window"] = config.sliding_window ? nlohmann::json(*config.sliding_window) : nlohmann::json(nullptr);
    json["partial_rotary_factor"] = config.partial_rotary_factor;
    if (config.rope_scaling.original_max_position_embeddings)
        json["original_max_position_embeddings"] = *config.rope_scaling.original_max_position_embeddings;
}

} // namespace

const Architecture kPhi3Architecture = {"phi3", "Phi3ForCausalLM", &applyPhi3Traits, &writePhi3Traits, "phi3"};

} // namespace lathe
