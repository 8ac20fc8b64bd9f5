#include "model/arch/architecture.h"

#include <nlohmann/json.hpp>

#include "model/model_config.h"
#include "util/error.h"

namespace lathe {

std::vector<const Architecture*> architectures()
{
    // The registry: one line per family.
    return {&kLlamaArchitecture,  &kMistralArchitecture,     &kQwen2Architecture, &kQwen3Architecture,
            &kGemmaArchitecture,  &kGemma2Architecture,      &kGemma3TextArchitecture, &kPhi3Architecture,
            &kGlmArchitecture,    &kQwen2MoeArchitecture,
            &kQwen3MoeArchitecture, &kMixtralArchitecture};
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

namespace {

// What each type of field<T> accepts, and how the error names it.
bool matches(const nlohmann::json& v, bool*) { return v.is_boolean(); }
bool matches(const nlohmann::json& v, std::int64_t*) { return v.is_number_integer(); }
bool matches(const nlohmann::json& v, double*) { return v.is_number(); }
bool matches(const nlohmann::json& v, std::string*) { return v.is_string(); }
const char* expected(bool*) { return "true or false"; }
const char* expected(std::int64_t*) { return "an integer"; }
const char* expected(double*) { return "a number"; }
const char* expected(std::string*) { return "a string"; }

} // namespace

template <typename T>
T field(const nlohmann::json& json, const char* key, T fallback)
{
    if (!json.contains(key) || json[key].is_null())
        return fallback;
    const auto& value = json[key];
    if (!matches(value, static_cast<T*>(nullptr)))
        fail("config.json: field \"", key, "\" must be ", expected(static_cast<T*>(nullptr)), ", got ", value.dump());
    return value.get<T>();
}

template bool field<bool>(const nlohmann::json&, const char*, bool);
template std::int64_t field<std::int64_t>(const nlohmann::json&, const char*, std::int64_t);
template double field<double>(const nlohmann::json&, const char*, double);
template std::string field<std::string>(const nlohmann::json&, const char*, std::string);

void readQwenMoeKeys(ModelConfig& config, const nlohmann::json& json, const QwenMoeDefaults& defaults)
{
    config.num_experts = field(json, "num_experts", defaults.experts);
    config.num_experts_per_tok = field(json, "num_experts_per_tok", defaults.perToken);
    config.moe_intermediate_size = field(json, "moe_intermediate_size", defaults.intermediate);
    config.decoder_sparse_step = field(json, "decoder_sparse_step", std::int64_t(1));
    config.mlp_only_layers.clear();
    if (json.contains("mlp_only_layers") && json["mlp_only_layers"].is_array())
        for (const auto& l : json["mlp_only_layers"])
            if (l.is_number_integer())
                config.mlp_only_layers.push_back(l.get<std::int64_t>());
            else
                fail("config.json: field \"mlp_only_layers\" must be a list of layer numbers, got ",
                     json["mlp_only_layers"].dump());
    config.norm_topk_prob = field(json, "norm_topk_prob", false);
    config.router_aux_loss_coef = field(json, "router_aux_loss_coef", 0.001);
}

void writeQwenMoeKeys(const ModelConfig& config, nlohmann::json& json)
{
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

std::vector<TensorSpec> tensorTable(const ModelConfig& c)
{
    const std::int64_t H = c.hidden_size, I = c.intermediate_size, D = c.head_dim;
    const std::int64_t Q = c.num_attention_heads * D, KV = c.num_key_value_heads * D;
    std::vector<TensorSpec> table;
    auto linear = [&](const std::string& name, std::int64_t out, std::int64_t in, bool bias) {
        table.push_back({name + ".weight", {out, in}});
        if (bias)
            table.push_back({name + ".bias", {out}, TensorInit::Zeros});
    };
    // (1+w) norms store their weight as an offset from 1: zeros are the identity.
    const TensorInit normInit = c.norm_offset_one ? TensorInit::Zeros : TensorInit::Ones;
    auto mlp = [&](const std::string& p, std::int64_t inner, const char* gate, const char* up, const char* down,
                   bool fused) {
        if (fused) {
            linear(p + "gate_up_proj", 2 * inner, H, c.mlp_bias);
        } else {
            linear(p + gate, inner, H, c.mlp_bias);
            linear(p + up, inner, H, c.mlp_bias);
        }
        linear(p + down, H, inner, c.mlp_bias);
    };
    table.push_back({"model.embed_tokens.weight", {c.vocab_size, H}, TensorInit::Normal});
    for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        if (c.fused_qkv) {
            linear(p + "self_attn.qkv_proj", Q + 2 * KV, H, c.qkv_bias);
        } else {
            linear(p + "self_attn.q_proj", Q, H, c.qkv_bias);
            linear(p + "self_attn.k_proj", KV, H, c.qkv_bias);
            linear(p + "self_attn.v_proj", KV, H, c.qkv_bias);
        }
        linear(p + "self_attn.o_proj", H, Q, c.o_bias);
        if (c.qk_norm) {
            table.push_back({p + "self_attn.q_norm.weight", {D}, normInit});
            table.push_back({p + "self_attn.k_norm.weight", {D}, normInit});
        }
        if (c.layerIsSparse(i)) {
            const std::string m = p + (c.mixtral_names ? "block_sparse_moe." : "mlp.");
            const std::int64_t inner = c.mixtral_names ? I : c.moe_intermediate_size;
            table.push_back({m + "gate.weight", {c.num_experts, H}});
            for (std::int64_t e = 0; e < c.num_experts; ++e) {
                const std::string x = m + "experts." + std::to_string(e) + ".";
                if (c.mixtral_names)
                    mlp(x, inner, "w1", "w3", "w2", false);
                else
                    mlp(x, inner, "gate_proj", "up_proj", "down_proj", false);
            }
            if (c.shared_expert_intermediate_size > 0) {
                mlp(m + "shared_expert.", c.shared_expert_intermediate_size, "gate_proj", "up_proj", "down_proj", false);
                table.push_back({m + "shared_expert_gate.weight", {1, H}});
            }
        } else {
            mlp(p + "mlp.", I, "gate_proj", "up_proj", "down_proj", c.fused_gate_up);
        }
        table.push_back({p + "input_layernorm.weight", {H}, normInit});
        table.push_back({p + "post_attention_layernorm.weight", {H}, normInit});
        if (c.sandwich_norm) {
            table.push_back({p + "pre_feedforward_layernorm.weight", {H}, normInit});
            table.push_back({p + "post_feedforward_layernorm.weight", {H}, normInit});
        }
    }
    table.push_back({"model.norm.weight", {H}, normInit});
    if (!c.tie_word_embeddings)
        table.push_back({"lm_head.weight", {c.vocab_size, H}});
    return table;
}

} // namespace lathe
