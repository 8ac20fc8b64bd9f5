// Fused forms of the small operations between a decoder layer's products, for forward passes that record no
// autograd graph on CPU (decoding, scoring, the forward of a checkpointed layer).
//
// A decode step of a 0.6B model runs ~200 weight products and, between them, ~1,600 small libtorch ops: an
// RMSNorm is eight (cast, pow, mean, add, rsqrt, mul, cast, mul), a rotary embedding six, the attention over
// the KV cache ten, one of which copies the whole transposed key cache so oneDNN gets a contiguous operand.
// Each op costs a dispatch, an allocation and a pass over memory; together they took ~5 ms of a 38 ms token.
// Here each is one pass over its data, with the dtype roundings HF's modules make (bf16 after every op that
// returns bf16; float32 statistics and softmax), so the results are libtorch's up to float32 summation order.
//
// Each function returns an undefined tensor when it does not apply (another device or dtype, a layout it does
// not take, grad mode on, an UnfusedOpsScope, LATHE_KERNELS=fused=torch); the caller then runs the
// libtorch ops.
#pragma once

#include <cstdint>
#include <optional>

#include <torch/types.h>

namespace lathe {

/// HF's LlamaRMSNorm over the last dimension (float32 statistics, the weight multiplied in the input dtype;
/// with `offsetOne`, Gemma's (1 + w) in float32), as model/layers.h's RMSNorm. x contiguous float32 or bf16,
/// weight [D] float32 or bf16. The one fused op training uses too: where autograd records, it is an autograd
/// Function with its own one-pass backward (the gradients of the same ops, float32 inside, rounded to the
/// input's dtype where HF's graph rounds). Not affected by UnfusedOpsScope: every pass of a run, recorded or
/// not, computes its norms the same way.
torch::Tensor fusedRmsNorm(const torch::Tensor& x, const torch::Tensor& weight, double eps, bool offsetOne);

/// act(gate) * up, act silu or (with `gelu`) gelu with the tanh approximation, both contiguous, same shape and
/// dtype: the activation in float32 (x sigmoid(x), or x sigmoid(2y) for gelu-tanh, exact where libtorch 1.13
/// rounds each op of a bf16 silu and its gelu cancels to 0 below x = -5), rounded to the dtype, times up. Like
/// fusedRmsNorm, training uses it too (an autograd Function with a one-pass backward) and UnfusedOpsScope does
/// not stop it.
torch::Tensor fusedActMul(const torch::Tensor& gate, const torch::Tensor& up, bool gelu);

/// PEFT's lora.Linear.forward epilogue: (base + lora * scaling).to(base's dtype) — the sum in float32, rounded once
/// — base float32 or bf16, lora the adapter's float32 product, both contiguous and of one shape. Training uses it too (an autograd Function: the
/// base's gradient passes through, the adapter's is the float32 gradient times scaling).
torch::Tensor fusedScaledAdd(const torch::Tensor& base, const torch::Tensor& lora, double scaling);

/// HF's rotary embedding of x [B, T, H, D] (contiguous), optionally after a per-head RMSNorm (Qwen3's and Gemma
/// 3's q_norm / k_norm; `normWeight` undefined for none), returned as [B, H, T, D]. cos/sin [B or 1, T, rot]
/// in x's dtype; the first rot features are rotated (rotate_half, or GLM's interleaved pairs), the rest pass.
torch::Tensor fusedNormRotary(const torch::Tensor& x, const torch::Tensor& normWeight, double eps, bool offsetOne,
                              const torch::Tensor& cos, const torch::Tensor& sin, bool interleaved);

/// fusedNormRotary without the norm, for every pass of a training run too (an autograd Function with a one-pass
/// backward); UnfusedOpsScope does not stop it. x [B, T, H, D] contiguous -> [B, H, T, D].
torch::Tensor fusedRotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin, bool interleaved);

/// HF's eager attention between its two products: softmax(scores * scaling + mask) in float32, returned in the
/// scores' dtype (each op's result rounded there, as the chain rounds). scores [B, KV, G * T, S] contiguous (the
/// G query heads of a kv head stacked along time); mask [B or 1, 1, T, S] additive (any float dtype: it is
/// taken in the scores' dtype, as the chain's addition rounds it) or undefined; no soft-cap.
/// Training uses it too (an autograd Function saving the float32 probabilities, as autograd's softmax does).
torch::Tensor fusedSoftmax(const torch::Tensor& scores, const torch::Tensor& mask, double scaling, std::int64_t T);

/// Eager attention of a few new query rows over the keys and values so far, as HF computes it: scores in the
/// dtype, times `scaling`, soft-capped, plus the additive mask, softmax in float32, weighted sum of the values.
/// q [B, Hq, T, D]; k, v [B, KV, S, D] with rows of D contiguous (the KV cache's views); grouped-query heads
/// (Hq a multiple of KV) share their kv head; mask [B or 1, 1, T, S] (any float dtype, taken in q's) or
/// undefined. Returns [B, T, Hq * D].
/// Only for T <= kMaxCachedAttentionRows (decode steps); longer queries are GEMM-shaped.
torch::Tensor cachedAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const torch::Tensor& mask, double scaling, std::optional<double> softcap);

constexpr std::int64_t kMaxCachedAttentionRows = 4;

/// While one lives, the inference-only fused ops (rotary, cached attention) decline on this thread. A training run
/// holds one: its forward passes without autograd (gradient checkpointing's first pass, a DPO reference model,
/// KTO's KL rows) must compute exactly what its graph-recording passes compute, and those run libtorch's ops.
class UnfusedOpsScope
{
public:
    UnfusedOpsScope();
    ~UnfusedOpsScope();
    UnfusedOpsScope(const UnfusedOpsScope&) = delete;
    UnfusedOpsScope& operator=(const UnfusedOpsScope&) = delete;

private:
    bool m_previous;
};

} // namespace lathe
