// LoRA adapters as PEFT stores them (adapter_config.json + adapter_model.safetensors), attached to a model's
// linear layers unmerged: y = W x + b + (B A dropout(x)) * scaling, with scaling = alpha / r (or alpha /
// sqrt(r) with use_rslora), and DoRA's magnitude rescaling when use_dora is set (PEFT's DoraLinearLayer).
//
// Key names follow PEFT's get_peft_model_state_dict: "base_model.model.<module>.lora_A.weight",
// ".lora_B.weight" and ".lora_magnitude_vector". Adapter weights stay float32 (trainable later); the base
// output is computed in the model's dtype and the adapter's contribution is added in float32.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "model/causal_lm.h"
#include "model/layers.h"

namespace lathe {

struct LoraConfig
{
    std::int64_t r = 8;                     ///< rank
    double alpha = 16;                      ///< lora_alpha
    double dropout = 0;                     ///< lora_dropout (training only)
    bool useRslora = false;                 ///< use_rslora: scaling alpha / sqrt(r)
    bool useDora = false;                   ///< use_dora
    std::vector<std::string> targetModules; ///< target_modules (module names such as q_proj)

    double scaling() const;
    /// Reads `<dir>/adapter_config.json`; throws lathe::Error naming the file and field.
    static LoraConfig fromDir(const std::string& dir);
};

class LoraLinearAdapter : public LinearAdapter
{
public:
    LoraLinearAdapter(torch::Tensor a, torch::Tensor b, torch::Tensor magnitude, double scaling);
    torch::Tensor apply(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                        const torch::Tensor& base) override;

    torch::Tensor loraA;     ///< [r, in]
    torch::Tensor loraB;     ///< [out, r]
    torch::Tensor magnitude; ///< [out] (DoRA) or undefined
    double scaling = 1;
};

struct AttachedAdapter
{
    LoraConfig config;
    std::int64_t modules = 0; ///< linear layers adapted
    /// The adapter's tensors by their adapter_model.safetensors names (for training and saving).
    std::vector<std::pair<std::string, torch::Tensor>> parameters;
};

/// Folds every attached LoRA adapter into its base weight (PEFT's merge_and_unload): W + scaling * B A, and
/// for DoRA (magnitude / ||W + scaling * B A||_row) * (W + scaling * B A). Weights keep their dtype (the sum
/// is formed in float32); adapters are detached afterwards. Returns the number of layers merged.
std::int64_t mergeLoraAdapters(CausalLM& model);

/// Loads the adapter in `adapterDir` and attaches it to the matching linear layers of `model`. Throws
/// lathe::Error when a tensor is missing, has the wrong shape for its layer, or names no layer of the model.
AttachedAdapter attachLoraAdapter(CausalLM& model, const std::string& adapterDir);

} // namespace lathe
