// Qwen2 / Qwen2.5 — Qwen2ForCausalLM.
//
// A Llama decoder with biases on q_proj, k_proj and v_proj (never on o_proj or the MLP). The sliding
// window is used only when `use_sliding_window` is true, and then only for layers from `max_window_layers`.
#include "model/arch/architecture.h"

#include <nlohmann/json.hpp>

#include "model/model_config.h"
#include "util/error.h"

namespace lathe {

namespace {
void applyQwen2Traits(ModelConfig& config, const nlohmann::json& json)
{
    config.qkv_bias = true;
    config.o_bias = false;
    config.mlp_bias = false;
    config.qk_norm = false;
    if (field(json, "use_sliding_window", false))
        fail("config.json: field \"use_sliding_window\": sliding-window attention for Qwen2 is not supported yet");
}
void writeQwen2Traits(const ModelConfig& config, nlohmann::json& json)
{
    json["use_sliding_window"] = false;
    json["sliding_window"] = nullptr;
    json["max_window_layers"] = config.num_hidden_layers;
}
} // namespace

const Architecture kQwen2Architecture = {"qwen2", "Qwen2ForCausalLM", &applyQwen2Traits, &writeQwen2Traits, "qwen2"};

} // namespace lathe
