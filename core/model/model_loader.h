// Loads a model folder in Hugging Face layout into a CausalLM on a device, in a compute dtype.
//
// Weights stored in the compute dtype on CPU are used in place from the mapped safetensors (no copy, no
// extra resident memory until a page is touched); others are converted tensor by tensor.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <torch/types.h>

#include "model/causal_lm.h"

namespace lathe {

struct LoadOptions
{
    /// Device to compute on.
    torch::Device device = torch::kCPU;
    /// Compute dtype the weights are converted to.
    torch::ScalarType dtype = torch::kFloat32;
    /// The rope_scaling argument and, when training, cutoff_len (see applyRopeScalingArgument).
    std::string ropeScaling;
    std::optional<std::int64_t> modelMaxLength;
    /// Told what the rope_scaling argument did, when it did something.
    std::function<void(const std::string&)> log;
};

/// Reads config.json and the safetensors weights of `dir`; throws lathe::Error naming the file and tensor
/// when a tensor is missing or has the wrong shape.
CausalLM loadModel(const std::string& dir, const LoadOptions& options = {});

/// Checks that `config`'s tensor table is present with the right shapes in the weights of `dir`.
void validateWeights(const std::string& dir, const ModelConfig& config);

} // namespace lathe
