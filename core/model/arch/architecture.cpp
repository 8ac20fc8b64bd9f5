#include "model/arch/architecture.h"

#include "model/model_config.h"
#include "util/error.h"

namespace lathe {

std::vector<const Architecture*> architectures()
{
    return {&kLlamaArchitecture, &kMistralArchitecture, &kQwen2Architecture, &kQwen3Architecture};
}

const Architecture& architectureFor(const std::string& model_type, const std::string& source)
{
    std::string known;
    for (const auto* arch : architectures()) {
        if (model_type == arch->model_type)
            return *arch;
        known += known.empty() ? "" : ", ";
        known += arch->model_type;
    }
    fail(source, ": field \"model_type\": \"", model_type, "\" is not supported (supported: ", known, ")");
}

std::vector<TensorSpec> tensorTable(const ModelConfig& c)
{
    const std::int64_t H = c.hidden_size, I = c.intermediate_size, D = c.head_dim;
    const std::int64_t Q = c.num_attention_heads * D, KV = c.num_key_value_heads * D;
    std::vector<TensorSpec> table;
    table.push_back({"model.embed_tokens.weight", {c.vocab_size, H}, TensorInit::Normal});
    for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        table.push_back({p + "self_attn.q_proj.weight", {Q, H}});
        if (c.qkv_bias)
            table.push_back({p + "self_attn.q_proj.bias", {Q}, TensorInit::Zeros});
        table.push_back({p + "self_attn.k_proj.weight", {KV, H}});
        if (c.qkv_bias)
            table.push_back({p + "self_attn.k_proj.bias", {KV}, TensorInit::Zeros});
        table.push_back({p + "self_attn.v_proj.weight", {KV, H}});
        if (c.qkv_bias)
            table.push_back({p + "self_attn.v_proj.bias", {KV}, TensorInit::Zeros});
        table.push_back({p + "self_attn.o_proj.weight", {H, Q}});
        if (c.o_bias)
            table.push_back({p + "self_attn.o_proj.bias", {H}, TensorInit::Zeros});
        if (c.qk_norm) {
            table.push_back({p + "self_attn.q_norm.weight", {D}, TensorInit::Ones});
            table.push_back({p + "self_attn.k_norm.weight", {D}, TensorInit::Ones});
        }
        table.push_back({p + "mlp.gate_proj.weight", {I, H}});
        if (c.mlp_bias)
            table.push_back({p + "mlp.gate_proj.bias", {I}, TensorInit::Zeros});
        table.push_back({p + "mlp.up_proj.weight", {I, H}});
        if (c.mlp_bias)
            table.push_back({p + "mlp.up_proj.bias", {I}, TensorInit::Zeros});
        table.push_back({p + "mlp.down_proj.weight", {H, I}});
        if (c.mlp_bias)
            table.push_back({p + "mlp.down_proj.bias", {H}, TensorInit::Zeros});
        table.push_back({p + "input_layernorm.weight", {H}, TensorInit::Ones});
        table.push_back({p + "post_attention_layernorm.weight", {H}, TensorInit::Ones});
    }
    table.push_back({"model.norm.weight", {H}, TensorInit::Ones});
    if (!c.tie_word_embeddings)
        table.push_back({"lm_head.weight", {c.vocab_size, H}});
    return table;
}

} // namespace lathe
