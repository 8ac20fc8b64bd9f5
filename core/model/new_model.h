// Writes a randomly initialised model in Hugging Face layout (`lathe new-model`).
//
// Used by LLaMA-Factory's train_from_scratch, by the embedded demo and by the tests and benchmarks, which
// cannot download models. Initialisation follows transformers' _init_weights: N(0, initializer_range) for
// linear and embedding weights, zeros for biases, ones for norms.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/model_config.h"

namespace lathe {

struct NewModelOptions
{
    std::string arch = "qwen3";     ///< model_type
    std::string config;             ///< a preset name, or JSON overriding fields of the preset/defaults
    std::string tokenizerDir;       ///< tokenizer files copied into the model folder (optional)
    std::string outDir;
    std::uint64_t seed = 42;
    std::string dtype = "bfloat16"; ///< dtype the weights are saved in
};

/// Names of the built-in presets (`demo`, `tiny`, `qwen3-0.6b`, ...).
std::vector<std::string> newModelPresets();

/// The config `options` describe (preset + overrides), validated.
ModelConfig newModelConfig(const NewModelOptions& options);

/// Creates the folder: config.json, generation_config.json, model.safetensors (sharded above 2 GB) and the
/// tokenizer files. Returns the config written.
ModelConfig writeNewModel(const NewModelOptions& options);

} // namespace lathe
