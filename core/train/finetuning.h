// Which weights a fine-tuning method trains, as LLaMA-Factory's init_adapter chooses them: a LoRA adapter (new, or
// the last of adapter_name_or_path trained further, earlier ones merged), every weight (full), or the last layers'
// chosen modules (freeze); and train_from_scratch's fresh weights. The trainer loads the model and asks here.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "lora/lora_adapter.h"
#include "model/causal_lm.h"
#include "train/run_settings.h"

namespace lathe {

/// LLaMA-Factory's _setup_freeze_tuning as a test on parameter names: the last `trainableLayers` layers (the
/// first |N| when negative), the named modules in them ("all" = everything), plus `extraModules` outside the
/// layers. The trainer and the memory estimate both choose with it.
class FreezeSelection
{
public:
    FreezeSelection(std::int64_t numLayers, std::int64_t trainableLayers, const std::vector<std::string>& modules,
                    std::vector<std::string> extraModules);
    bool trains(const std::string& parameterName) const;

private:
    std::vector<std::string> m_patterns, m_extra;
};

struct TrainableWeights
{
    AttachedAdapter adapter;                                 ///< the LoRA adapter trained (empty otherwise)
    std::vector<std::pair<std::string, torch::Tensor>> params; ///< the trained tensors by their save names
};

/// Freezes every weight of `model`, then makes trainable what finetuning_type chooses: LoRA tensors as created or
/// loaded (bf16 with pure_bf16), or the chosen model weights in float32 copies of their own (bf16 with pure_bf16;
/// loaded weights may be read-only mappings). Throws lathe::Error for an unknown method or a freeze selection that
/// matches nothing. `log` gets "Merged adapter ...", "Continuing to train adapter ...".
TrainableWeights chooseTrainableWeights(CausalLM& model, const RunSettings& s,
                                        const std::function<void(const std::string&)>& log);

/// Whether AdamW decays a trained tensor (transformers' get_decay_parameter_names: not biases, not norms).
bool decaysWeight(const std::string& name);

/// train_from_scratch: norms 1, biases 0, every other weight N(0, initializer_range), drawn from `seed`.
void reinitialiseWeights(CausalLM& model, std::uint64_t seed);

} // namespace lathe
