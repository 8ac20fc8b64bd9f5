#include "model/layers.h"

#include <torch/torch.h>

#include "kernels/bf16_gemv.h"

namespace lathe {

LinearImpl::LinearImpl(std::int64_t in, std::int64_t out, bool hasBias, torch::ScalarType dtype)
{
    weight = register_parameter("weight", torch::empty({out, in}, torch::dtype(dtype)));
    if (hasBias)
        bias = register_parameter("bias", torch::empty({out}, torch::dtype(dtype)));
}

torch::Tensor linearForward(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias)
{
    // One row of bf16 activations on CPU (a decode step): a GEMV kernel that streams the weights faster.
    if (x.numel() == weight.size(1)) {
        auto out = bf16Gemv(x, weight, bias);
        if (out.defined())
            return out;
    }
    // Several bf16 rows on a CPU without native bf16 (prefill, perplexity): float32 GEMM on widened weights.
    auto out = bf16LinearViaFloat(x, weight, bias);
    if (out.defined())
        return out;
    return torch::linear(x, weight, bias);
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x)
{
    auto out = linearForward(x, weight, bias);
    if (adapter)
        out = adapter->apply(x, weight, bias, out);
    return out;
}

RMSNormImpl::RMSNormImpl(std::int64_t dim, double epsilon, torch::ScalarType dtype) : eps(epsilon)
{
    weight = register_parameter("weight", torch::empty({dim}, torch::dtype(dtype)));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x)
{
    const auto inputType = x.scalar_type();
    auto h = x.to(torch::kFloat32);
    auto variance = h.pow(2).mean(-1, /*keepdim=*/true);
    h = h * torch::rsqrt(variance + eps);
    return weight * h.to(inputType);
}

EmbeddingImpl::EmbeddingImpl(std::int64_t vocab, std::int64_t dim, torch::ScalarType dtype)
{
    weight = register_parameter("weight", torch::empty({vocab, dim}, torch::dtype(dtype)));
}

torch::Tensor EmbeddingImpl::forward(const torch::Tensor& ids)
{
    return torch::embedding(weight, ids);
}

} // namespace lathe
