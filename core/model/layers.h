// The building blocks of the decoder: Linear (with a slot for adapters such as LoRA), RMSNorm, Embedding.
//
// Parameters are created with torch::empty so that a model about to be loaded from (mapped) safetensors
// never touches memory for its initial values; loading replaces them with set_data().
#pragma once

#include <cstdint>
#include <memory>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace lathe {

/// Something added to a Linear's output, given its input: LoRA, DoRA, ... (the lora issue implements these).
class LinearAdapter
{
public:
    virtual ~LinearAdapter() = default;
    /// Returns the adapted output given the layer input `x`, its weight and the base output `base`.
    virtual torch::Tensor apply(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                const torch::Tensor& base) = 0;
};

/// x W^T + b, taking the fastest kernel available for the shape (see kernels/bf16_gemv.h).
torch::Tensor linearForward(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {});

class LinearImpl : public torch::nn::Module
{
public:
    LinearImpl(std::int64_t in, std::int64_t out, bool bias, torch::ScalarType dtype = torch::kFloat32);
    torch::Tensor forward(const torch::Tensor& x);

    torch::Tensor weight; ///< [out, in]
    torch::Tensor bias;   ///< [out] or undefined
    std::shared_ptr<LinearAdapter> adapter;
};
TORCH_MODULE(Linear);

/// What each linear's forward(x) gives, for linears that share their input (q, k and v; gate and up). A decode
/// step's single bf16 row multiplies all their weights in one parallel region (kernels/bf16_gemv.h's
/// bf16GemvMany); adapters are applied to each output after.
std::vector<torch::Tensor> sharedInputForward(const torch::Tensor& x, const std::vector<LinearImpl*>& linears);

/// HF's LlamaRMSNorm: normalise in float32, multiply the weight in the input dtype. With `offsetOne`,
/// Gemma's RMSNorm: multiply by (1 + weight) in float32, then cast back.
class RMSNormImpl : public torch::nn::Module
{
public:
    RMSNormImpl(std::int64_t dim, double eps, torch::ScalarType dtype = torch::kFloat32, bool offsetOne = false);
    torch::Tensor forward(const torch::Tensor& x);

    torch::Tensor weight;
    double eps;
    bool offsetOne = false;
};
TORCH_MODULE(RMSNorm);

class EmbeddingImpl : public torch::nn::Module
{
public:
    EmbeddingImpl(std::int64_t vocab, std::int64_t dim, torch::ScalarType dtype = torch::kFloat32);
    torch::Tensor forward(const torch::Tensor& ids);

    torch::Tensor weight; ///< [vocab, dim]
};
TORCH_MODULE(Embedding);

} // namespace lathe
