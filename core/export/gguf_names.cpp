#include "export/gguf_names.h"

#include "model/arch/architecture.h"

#include <cctype>
#include <cstring>

#include "model/model_config.h"
#include "util/error.h"

namespace lathe {

namespace {

struct NamePair
{
    const char* hf;
    const char* gguf;
};

// Whole-model tensors.
const NamePair kGlobalNames[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};

// Per-block tensors: "model.layers.N." + hf  ->  "blk.N." + gguf.
const NamePair kBlockNames[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.o_proj.bias", "attn_output.bias"},
    {"self_attn.q_norm.weight", "attn_q_norm.weight"},
    {"self_attn.k_norm.weight", "attn_k_norm.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.gate_proj.bias", "ffn_gate.bias"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.up_proj.bias", "ffn_up.bias"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
    {"mlp.down_proj.bias", "ffn_down.bias"},
    // Mixture-of-experts routers (the experts are stacked by the writer).
    {"mlp.gate.weight", "ffn_gate_inp.weight"},
    {"block_sparse_moe.gate.weight", "ffn_gate_inp.weight"},
    // Fused projections (Phi-3): llama.cpp keeps them fused, the gate rows first in ffn_up.
    {"self_attn.qkv_proj.weight", "attn_qkv.weight"},
    {"mlp.gate_up_proj.weight", "ffn_up.weight"},
};

bool endsWith(const std::string& s, const char* suffix)
{
    const std::size_t n = std::strlen(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

} // namespace

std::string ggufArchitecture(const ModelConfig& config)
{
    const Architecture& arch = architectureFor(config.model_type, "config.json");
    if (!arch.gguf_arch) {
        std::string supported;
        for (const auto* a : architectures())
            if (a->gguf_arch)
                supported += std::string(supported.empty() ? "" : ", ") + a->model_type;
        fail("GGUF export: model_type \"", config.model_type, "\" is not supported yet (supported: ", supported, ")");
    }
    // llama.cpp's qwen3 graph has no attention biases: such a file would not load.
    if (std::string(arch.gguf_arch) == "qwen3" && (config.qkv_bias || config.o_bias))
        fail("GGUF export: Qwen3 with attention_bias=true has no llama.cpp equivalent");
    // Traits llama.cpp's graphs for these names do not have.
    const bool phi3 = std::string(arch.gguf_arch) == "phi3";
    const bool gemma2 = std::string(arch.gguf_arch) == "gemma2", gemma3 = std::string(arch.gguf_arch) == "gemma3";
    const bool chatglm = std::string(arch.gguf_arch) == "chatglm";
    if (((config.fused_qkv || config.fused_gate_up) && !phi3 && !chatglm) ||
        (config.norm_offset_one && !gemma2 && !gemma3) || (config.rope_interleaved && !chatglm))
        fail("GGUF export: this ", config.model_type, " model has traits the exporter does not map yet");
    if (gemma3) {
        // llama.cpp's gemma3 graph: every 6th layer global, local RoPE base 10000 without scaling, no soft-cap of
        // the attention, attention scaled by head_dim.
        for (std::int64_t i = 0; i < config.num_hidden_layers; ++i)
            if (config.layerSlides(i) != ((i + 1) % 6 != 0))
                fail("GGUF export: llama.cpp's gemma3 graph makes every 6th layer global (sliding_window_pattern 6); "
                     "this model's pattern differs");
        if (config.rope_local_base_freq.value_or(10000.0) != 10000.0)
            fail("GGUF export: llama.cpp's gemma3 graph uses RoPE base 10000 on the local layers; this model has ",
                 *config.rope_local_base_freq);
    }
    if (chatglm && config.o_bias)
        fail("GGUF export: llama.cpp's chatglm graph has no o_proj bias");
    // llama.cpp's expert graphs: every layer sparse, the chosen weights renormalised.
    if (config.num_experts > 0) {
        if (!config.mlp_only_layers.empty() || config.decoder_sparse_step != 1)
            fail("GGUF export: llama.cpp's ", arch.gguf_arch, " graph has experts in every layer; this model has dense "
                 "layers (mlp_only_layers / decoder_sparse_step)");
        if (std::string(arch.gguf_arch) == "llama" && config.sliding_window)
            fail("GGUF export: llama.cpp's llama graph (Mixtral) has no sliding window; this model sets sliding_window");
        if (!config.norm_topk_prob)
            fail("GGUF export: llama.cpp's ", arch.gguf_arch, " graph renormalises the chosen experts' weights; this "
                 "model has norm_topk_prob false");
    }
    // llama.cpp's gemma2 graph scales attention by head_dim^-0.5 (hidden / heads for the 27B shape) and does not
    // read query_pre_attn_scalar.
    if ((gemma2 || gemma3) && config.query_pre_attn_scalar && *config.query_pre_attn_scalar != double(config.head_dim))
        fail("GGUF export: query_pre_attn_scalar ", *config.query_pre_attn_scalar, " differs from head_dim ",
             config.head_dim, ", and llama.cpp's Gemma graphs scale attention by head_dim");
    if (phi3 && !(config.fused_qkv && config.fused_gate_up))
        fail("GGUF export: llama.cpp's phi3 graph needs the fused qkv_proj and gate_up_proj");
    return arch.gguf_arch;
}

std::optional<std::string> ggufTensorName(const std::string& hfName)
{
    for (const auto& p : kGlobalNames)
        if (hfName == p.hf)
            return std::string(p.gguf);

    static const std::string prefix = "model.layers.";
    if (hfName.compare(0, prefix.size(), prefix) != 0)
        return std::nullopt;
    std::size_t pos = prefix.size();
    const std::size_t digitsStart = pos;
    while (pos < hfName.size() && std::isdigit(static_cast<unsigned char>(hfName[pos])))
        ++pos;
    if (pos == digitsStart || pos >= hfName.size() || hfName[pos] != '.')
        return std::nullopt;
    const std::string layer = hfName.substr(digitsStart, pos - digitsStart);
    const std::string rest = hfName.substr(pos + 1);
    for (const auto& p : kBlockNames)
        if (rest == p.hf)
            return "blk." + layer + "." + p.gguf;
    return std::nullopt;
}

std::optional<std::string> ggufTensorName(const std::string& hfName, const ModelConfig& config)
{
    if (config.sandwich_norm) {
        // Gemma 2/3: post_attention_layernorm is the attention output's norm, pre_feedforward_layernorm the MLP
        // input's (llama.cpp's ffn_norm), post_feedforward_layernorm the MLP output's.
        static const NamePair kSandwich[] = {
            {"post_attention_layernorm.weight", "post_attention_norm.weight"},
            {"pre_feedforward_layernorm.weight", "ffn_norm.weight"},
            {"post_feedforward_layernorm.weight", "post_ffw_norm.weight"},
        };
        const std::size_t dot = hfName.find('.', std::strlen("model.layers."));
        if (hfName.rfind("model.layers.", 0) == 0 && dot != std::string::npos) {
            const std::string layer = hfName.substr(13, dot - 13);
            const std::string rest = hfName.substr(dot + 1);
            for (const auto& p : kSandwich)
                if (rest == p.hf)
                    return "blk." + layer + "." + p.gguf;
        }
    }
    return ggufTensorName(hfName);
}

bool isDroppedHfTensor(const std::string& hfName)
{
    return endsWith(hfName, ".rotary_emb.inv_freq") || endsWith(hfName, ".attention.masked_bias") ||
           endsWith(hfName, ".attention.bias");
}

bool needsLlamaQkPermute(const std::string& ggufArch, const std::string& hfName)
{
    if (ggufArch != "llama")
        return false;
    return endsWith(hfName, ".self_attn.q_proj.weight") || endsWith(hfName, ".self_attn.q_proj.bias") ||
           endsWith(hfName, ".self_attn.k_proj.weight") || endsWith(hfName, ".self_attn.k_proj.bias");
}

} // namespace lathe
