// GLM-4 (the -hf layout) — GlmForCausalLM, model_type glm (transformers/models/glm/modeling_glm.py).
//
// Biases on q/k/v (attention_bias), none on o_proj; interleaved RoPE (pairs x[2i], x[2i+1], GPT-J style) on
// the first partial_rotary_factor of head_dim (half for GLM-4); a fused gate_up_proj (gate rows, then up);
// plain RMSNorm pre-norm layers with GLM-4's small rms_norm_eps read from the config.
#include "model/arch/architecture.h"

#include <nlohmann/json.hpp>

#include "model/model_config.h"

namespace lathe {

namespace {

void applyGlmTraits(ModelConfig& config, const nlohmann::json& json)
{
    config.qkv_bias = field(json, "attention_bias", true);
    config.o_bias = false;
    config.mlp_bias = false;
    config.qk_norm = false;
    config.fused_gate_up = true;
    config.rope_interleaved = true;
    if (!json.contains("partial_rotary_factor"))
        config.partial_rotary_factor = 0.5;
}

void writeGlmTraits(const ModelConfig& config, nlohmann::json& json)
{
    json["attention_bias"] = config.qkv_bias;
    json["partial_rotary_factor"] = config.partial_rotary_factor;
}

} // namespace

// llama.cpp runs GlmForCausalLM as its chatglm graph (convert_hf_to_gguf's ChatGLMModel).
const Architecture kGlmArchitecture = {"glm", "GlmForCausalLM", &applyGlmTraits, &writeGlmTraits, "chatglm"};

} // namespace lathe
