#include "model/layers.h"

#include <torch/torch.h>

#include "kernels/bf16_gemv.h"
#include "kernels/inference_ops.h"
#include "kernels/kernel_paths.h"

namespace lathe {

LinearImpl::LinearImpl(std::int64_t in, std::int64_t out, bool hasBias, torch::ScalarType dtype)
{
    weight = register_parameter("weight", torch::empty({out, in}, torch::dtype(dtype)));
    if (hasBias)
        bias = register_parameter("bias", torch::empty({out}, torch::dtype(dtype)));
}

namespace {

// x W^T + b for a weight that is not trained (LoRA's frozen base, frozen layers), when x needs a gradient: the
// backward pass needs only dx = dy W, so W is kept by reference rather than saved as a float copy, and where the
// probe found it faster (CPUs without native bf16) both products run as float32 GEMMs on widened blocks of W
// (kernels/bf16_gemv.h, kernels/kernel_paths.h).
struct FrozenLinear : public torch::autograd::Function<FrozenLinear>
{
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                                 const torch::Tensor& weight)
    {
        ctx->saved_data["weight"] = weight;
        if (kernelPaths().gemm == Bf16Path::Widened) {
            auto out = bf16LinearViaFloat(x, weight, {}); // grad mode is off inside Function::forward
            if (out.defined())
                return out;
        }
        return torch::linear(x, weight);
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list gradOutputs)
    {
        const auto weight = ctx->saved_data["weight"].toTensor();
        torch::Tensor dx;
        if (kernelPaths().gradInput == Bf16Path::Widened)
            dx = bf16LinearGradInput(gradOutputs[0], weight);
        if (!dx.defined())
            dx = torch::matmul(gradOutputs[0], weight);
        return {dx, torch::Tensor()};
    }
};

} // namespace

torch::Tensor linearForward(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias)
{
    if (torch::GradMode::is_enabled() && x.requires_grad() && !weight.requires_grad() &&
        weight.scalar_type() == torch::kBFloat16 && x.device().is_cpu() &&
        (!bias.defined() || !bias.requires_grad()))
    {
        // (autograd Functions take no undefined inputs: the frozen bias is added outside)
        auto out = FrozenLinear::apply(x, weight);
        return bias.defined() ? out + bias : out;
    }
    if (weight.scalar_type() != torch::kBFloat16 || !x.device().is_cpu())
        return torch::linear(x, weight, bias);
    // The kernels are chosen by measurement on this machine (kernels/kernel_paths.h).
    const KernelPaths& paths = kernelPaths();
    // One row of bf16 activations on CPU (a decode step): a GEMV kernel that streams the weights faster.
    if (paths.gemv == GemvPath::Lathe && x.numel() == weight.size(1)) {
        auto out = bf16Gemv(x, weight, bias);
        if (out.defined())
            return out;
    }
    // A few bf16 rows (a batched decode step, short prompts) on a CPU without native bf16: one pass over the
    // weights for all rows.
    if (paths.gemm == Bf16Path::Widened && weight.dim() == 2 && x.numel() <= kMaxSkinnyRows * weight.size(1)) {
        auto out = bf16GemmSkinny(x, weight, bias);
        if (out.defined())
            return out;
    }
    // Several bf16 rows on a CPU without native bf16 (prefill, perplexity): float32 GEMM on widened weights.
    if (paths.gemm == Bf16Path::Widened) {
        auto out = bf16LinearViaFloat(x, weight, bias);
        if (out.defined())
            return out;
    }
    return torch::linear(x, weight, bias);
}

torch::Tensor LinearImpl::forward(const torch::Tensor& input)
{
    // Training may keep trainable weights in float32 while the rest computes in bf16: compute in the
    // weight's dtype (autograd carries the cast).
    const auto x = input.scalar_type() == weight.scalar_type() ? input : input.to(weight.scalar_type());
    auto out = linearForward(x, weight, bias);
    if (adapter)
        out = adapter->apply(x, weight, bias, out);
    return out;
}

std::vector<torch::Tensor> sharedInputForward(const torch::Tensor& x, const std::vector<LinearImpl*>& linears)
{
    const bool oneRow = x.device().is_cpu() && x.scalar_type() == torch::kBFloat16 && x.dim() >= 1 &&
                        x.numel() == x.size(-1) && kernelPaths().gemv == GemvPath::Lathe;
    if (oneRow) {
        std::vector<torch::Tensor> weights, biases;
        for (const LinearImpl* linear : linears) {
            weights.push_back(linear->weight);
            biases.push_back(linear->bias);
        }
        auto outs = bf16GemvMany(x, weights, biases);
        if (!outs.empty() && outs[0].defined()) {
            for (std::size_t i = 0; i < linears.size(); ++i)
                if (linears[i]->adapter)
                    outs[i] = linears[i]->adapter->apply(x, linears[i]->weight, linears[i]->bias, outs[i]);
            return outs;
        }
    }
    std::vector<torch::Tensor> outs;
    for (LinearImpl* linear : linears)
        outs.push_back(linear->forward(x));
    return outs;
}

RMSNormImpl::RMSNormImpl(std::int64_t dim, double epsilon, torch::ScalarType dtype, bool offset)
    : eps(epsilon), offsetOne(offset)
{
    weight = register_parameter("weight", torch::empty({dim}, torch::dtype(dtype)));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x)
{
    if (auto fused = fusedRmsNorm(x, weight, eps, offsetOne); fused.defined()) // one pass each way
        return fused;
    const auto inputType = x.scalar_type();
    auto h = x.to(torch::kFloat32);
    auto variance = h.pow(2).mean(-1, /*keepdim=*/true);
    h = h * torch::rsqrt(variance + eps);
    if (offsetOne) // Gemma: (1 + w) in float32, then the input dtype
        return (h * (1.0 + weight.to(torch::kFloat32))).to(inputType);
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
