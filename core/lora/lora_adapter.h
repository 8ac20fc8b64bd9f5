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
    /// lora_dropout on the adapter's input, applied only while `training` (PEFT's lora_dropout module).
    double dropout = 0;
    bool training = false;
    /// Off: the layer computes W x + b alone (PEFT's disable_adapter), e.g. for a preference stage's reference.
    bool enabled = true;
};

/// B (A x) for x [..., in], A [r, in], B [out, r]: libtorch's linears, or on CPU in float32 the thin kernels of
/// kernels/thin_products.h where kernels/kernel_paths.h measured them faster (one autograd node).
torch::Tensor loraProducts(const torch::Tensor& x, const torch::Tensor& a, const torch::Tensor& b);

/// PEFT's LoRA output `base + scaling * B (A x)` in base's dtype, for x and base both bf16 or both float32 on CPU,
/// on the thin kernels that read x and the gradients without a float32 copy (one autograd node), where
/// kernels/kernel_paths.h measured them faster. Undefined where that path does not apply (the caller then
/// computes it with libtorch). No dropout, no DoRA: the caller's to decide.
torch::Tensor thinLoraOutput(const torch::Tensor& base, const torch::Tensor& x, const torch::Tensor& a,
                             const torch::Tensor& b, double scaling);

struct AttachedAdapter
{
    LoraConfig config;
    std::int64_t modules = 0; ///< linear layers adapted
    /// The adapter's tensors by their adapter_model.safetensors names (for training and saving).
    std::vector<std::pair<std::string, torch::Tensor>> parameters;
};

/// Which linear layers `targets` (LLaMA-Factory's lora_target: "all" or module names such as q_proj,v_proj)
/// selects, by their module names ("model.layers.0.self_attn.q_proj"). "all" is every linear layer but
/// lm_head (find_all_linear_modules). Throws lathe::Error naming what matches nothing.
std::vector<std::string> resolveLoraTargets(CausalLM& model, const std::vector<std::string>& targets);

/// Attaches a new adapter to every layer `config.targetModules` names (leaf names, or "all"), initialised as
/// PEFT's init_lora_weights=True: A kaiming-uniform (a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in))) drawn
/// from torch's default generator, B zero; DoRA's magnitude starts at the row norms of W. The tensors are
/// float32 on the model's device and require grad.
AttachedAdapter createLoraAdapter(CausalLM& model, const LoraConfig& config);

/// Writes `adapter_config.json` (PEFT's LoraConfig fields) and `adapter_model.safetensors` (float32, PEFT
/// names) into `dir`, each atomically. `baseModel` goes into base_model_name_or_path.
void saveLoraAdapter(const std::string& dir, const AttachedAdapter& adapter, const std::string& baseModel);

/// Sets training mode (dropout on) or evaluation mode on every attached LoRA adapter.
void setLoraTraining(CausalLM& model, bool training);

/// Switches every attached LoRA adapter on or off (PEFT's disable_adapter()): off, the model is its base.
void setLoraEnabled(CausalLM& model, bool enabled);

/// The model without its LoRA adapters for the scope's lifetime (PEFT's `with model.disable_adapter():`).
class LoraDisabledScope
{
public:
    explicit LoraDisabledScope(CausalLM& model) : m_model(model) { setLoraEnabled(m_model, false); }
    ~LoraDisabledScope() { setLoraEnabled(m_model, true); }
    LoraDisabledScope(const LoraDisabledScope&) = delete;
    LoraDisabledScope& operator=(const LoraDisabledScope&) = delete;

private:
    CausalLM& m_model;
};

/// Removes every adapter from the model's linear layers.
void detachLoraAdapters(CausalLM& model);

/// Folds every attached LoRA adapter into its base weight (PEFT's merge_and_unload): W + scaling * B A, and
/// for DoRA (magnitude / ||W + scaling * B A||_row) * (W + scaling * B A). Weights keep their dtype (the sum
/// is formed in float32); adapters are detached afterwards. Returns the number of layers merged.
std::int64_t mergeLoraAdapters(CausalLM& model);

/// Loads the adapter in `adapterDir` and attaches it to the matching linear layers of `model`. Throws
/// lathe::Error when a tensor is missing, has the wrong shape for its layer, or names no layer of the model.
AttachedAdapter attachLoraAdapter(CausalLM& model, const std::string& adapterDir);

/// adapter_name_or_path as LLaMA-Factory loads it for inference: every adapter but the last is merged into the
/// weights in order, the last stays attached (unmerged) unless `mergeAll`. Throws lathe::Error naming the
/// adapter that does not fit the model.
void loadInferenceAdapters(CausalLM& model, const std::vector<std::string>& adapterDirs, bool mergeAll = false);

} // namespace lathe
