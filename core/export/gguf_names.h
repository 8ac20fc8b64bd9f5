// The one place where Hugging Face names become llama.cpp's GGUF names.
//
// The engine names tensors as the safetensors keys do (model.layers.3.self_attn.q_proj.weight); llama.cpp's
// loader expects its own names (blk.3.attn_q.weight) and architecture strings. Only the GGUF writer (and, later,
// the GGUF LoRA writer) use this table; everything else keeps HF names.
#pragma once

#include <optional>
#include <string>

namespace lathe {

struct ModelConfig;

/// llama.cpp's architecture string for `config` ("llama", "qwen2", "qwen3"); throws lathe::Error for a model
/// llama.cpp would not run the same way.
std::string ggufArchitecture(const ModelConfig& config);

/// The GGUF name of an HF tensor ("model.layers.3.mlp.up_proj.weight" -> "blk.3.ffn_up.weight"), or nullopt when
/// the tensor has no GGUF counterpart.
std::optional<std::string> ggufTensorName(const std::string& hfName);
/// The same for a model of `config`: sandwich-norm families (Gemma 2/3) name their four layer norms
/// attn_norm, post_attention_norm, ffn_norm and post_ffw_norm.
std::optional<std::string> ggufTensorName(const std::string& hfName, const ModelConfig& config);

/// True for HF tensors that converters drop on purpose (rotary_emb.inv_freq and the like).
bool isDroppedHfTensor(const std::string& hfName);

/// True for a tensor llama.cpp's "llama" arch needs row-permuted (q_proj / k_proj weights and biases): HF's
/// rotate-half RoPE pairs dimension i with i + D/2, llama.cpp's NORM RoPE pairs 2i with 2i + 1.
bool needsLlamaQkPermute(const std::string& ggufArch, const std::string& hfName);

} // namespace lathe
