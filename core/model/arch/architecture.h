// The architecture families Lathe runs, each described in its own file (llama.cpp, qwen2.cpp, ...).
//
// A family says which config.json keys switch its quirks on, and lists its tensors: the declarative table
// that loading validates against, `new-model` initialises, and the GGUF writer later renames.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lathe {

struct ModelConfig;

/// How a tensor is initialised by `new-model` (as transformers' _init_weights does).
enum class TensorInit
{
    Normal, ///< N(0, initializer_range): linear weights and embeddings
    Zeros,  ///< biases
    Ones,   ///< RMSNorm weights
};

struct TensorSpec
{
    std::string name;                 ///< HF name, e.g. model.layers.3.self_attn.q_proj.weight
    std::vector<std::int64_t> shape;
    TensorInit init = TensorInit::Normal;
};

/// One family, described in its own file: what it reads from config.json (its traits: norms, activation,
/// scaling, soft-capping, RoPE variant, sliding-window pattern, fused projections, experts), what it writes
/// back, and its llama.cpp name. The shared decoder (causal_lm.cpp), the tensor table, `new-model` and the
/// GGUF writer read the traits; none of them names a family (docs/adding-a-model.md).
struct Architecture
{
    const char* model_type;           ///< config.json "model_type"
    const char* hf_class;             ///< config.json "architectures"[0]
    /// Sets the architecture's traits and defaults on `config` from the raw JSON.
    void (*apply_traits)(ModelConfig& config, const nlohmann::json& json);
    /// Adds the family's own keys to the config.json written for `config` (new-model, full fine-tuning).
    void (*write_traits)(const ModelConfig& config, nlohmann::json& json) = nullptr;
    /// llama.cpp's name for the architecture (general.architecture), or nullptr when Lathe has no GGUF export
    /// for the family yet.
    const char* gguf_arch = nullptr;
};

/// The architecture registered for `model_type`; throws lathe::Error listing the supported ones.
const Architecture& architectureFor(const std::string& model_type, const std::string& source);
/// All registered architectures, for `lathe env` and the GUI.
std::vector<const Architecture*> architectures();

/// A family's own config.json key: `fallback` when absent or null, else the value, which must have T's JSON type
/// (bool, std::int64_t, double, std::string); another type throws lathe::Error "config.json: field \"key\" must
/// be ..." (ModelConfig::fromJson puts the file's path in place of "config.json").
template <typename T>
T field(const nlohmann::json& json, const char* key, T fallback);

/// Reads the Qwen-style mixture-of-experts keys (num_experts, num_experts_per_tok, moe_intermediate_size,
/// decoder_sparse_step, mlp_only_layers, norm_topk_prob, router_aux_loss_coef) with the given defaults, for
/// the families that share them (qwen3_moe, qwen2_moe); `write...` writes them back.
struct QwenMoeDefaults
{
    std::int64_t experts, perToken, intermediate;
};
void readQwenMoeKeys(ModelConfig& config, const nlohmann::json& json, const QwenMoeDefaults& defaults);
void writeQwenMoeKeys(const ModelConfig& config, nlohmann::json& json);

/// The full tensor table of a model with this config (HF names, in transformers' order).
std::vector<TensorSpec> tensorTable(const ModelConfig& config);

// Defined in each family's file.
extern const Architecture kLlamaArchitecture;
extern const Architecture kMistralArchitecture;
extern const Architecture kQwen2Architecture;
extern const Architecture kQwen3Architecture;
extern const Architecture kGemmaArchitecture;
extern const Architecture kGemma2Architecture;
extern const Architecture kGemma3TextArchitecture;
extern const Architecture kPhi3Architecture;
extern const Architecture kGlmArchitecture;
extern const Architecture kQwen3MoeArchitecture;
extern const Architecture kQwen2MoeArchitecture;
extern const Architecture kMixtralArchitecture;

} // namespace lathe
