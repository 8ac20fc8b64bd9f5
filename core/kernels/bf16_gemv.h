// Fast bf16 linears on CPU. A matrix-vector product for bf16 weights on CPUs with AVX512-BF16 (AMD Zen 4,
// Intel Cooper Lake and Sapphire Rapids) or AVX2+FMA: the decode step of generation, where one token's
// activations meet every weight once and speed is set by how fast the weights stream from memory.
//
// libtorch 1.13's oneDNN path reaches roughly two thirds of the memory bandwidth for a single row; this
// kernel streams four weight rows at a time against one activation vector with the vdpbf16ps instruction
// (bf16 products, float32 accumulation) and splits rows across libtorch's threads. A batched decode step
// (a few activation rows) has its own AVX2 kernel that streams the weights once for all rows.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace lathe {

/// How many threads at::parallel_for hands Lathe's kernels for a range of `items` (at most libtorch's thread
/// count). 1 means the kernel files were built without OpenMP (core/CMakeLists.txt: LATHE_PARALLEL_SOURCES) and
/// every kernel runs on the calling thread.
int kernelParallelThreads(std::int64_t items = 64);

/// Whether this CPU multiplies bf16 natively (AVX512-BF16; oneDNN then runs bf16 GEMMs at full speed).
bool nativeBf16Available();

/// Whether this CPU runs the GEMV kernel (AVX512-BF16, or AVX2+FMA with bf16 widened to float32).
bool bf16GemvAvailable();

/// y = x W^T (+ bias) for x [..., K] holding one row in total, W [N, K] contiguous bf16, bias [N] or
/// undefined. Returns an undefined tensor when the fast path does not apply (the caller falls back).
torch::Tensor bf16Gemv(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

/// bf16Gemv for several weights that share the input row (a decode step's q, k and v; gate and up): their rows
/// are split across the threads as one range, in one parallel region, where separate calls pay a region each
/// and hand each thread a shorter stream. Returns one output per weight, or all undefined where bf16Gemv would
/// decline for any of them.
std::vector<torch::Tensor> bf16GemvMany(const torch::Tensor& x, const std::vector<torch::Tensor>& weights,
                                        const std::vector<torch::Tensor>& biases);

/// Most activation rows bf16GemmSkinny takes: a batched decode step (one row per sequence).
constexpr std::int64_t kMaxSkinnyRows = 8;

/// y = x W^T (+ bias) for bf16 x [..., K] holding 1 to kMaxSkinnyRows rows, on a CPU without native bf16 but
/// with AVX2+FMA: a batched decode step. Each weight row is streamed from memory once for all rows (bf16
/// widened to float32 in registers, float32 accumulation, rounded to bf16 at the end), so a step of B rows
/// costs about what one row costs, where the widened-GEMM path below converts every weight to a float32 copy
/// first. Undefined tensor when not applicable (no AVX2+FMA, autograd recording, other dtypes or devices, more
/// rows). Whether it should run is kernel_paths.h's choice (gemm widened).
torch::Tensor bf16GemmSkinny(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

/// y = x W^T (+ bias) for bf16 x with several rows on a CPU without native bf16: libtorch 1.13 then runs
/// bf16 GEMMs at ~1.6 GFLOP/s on 2 AVX2 cores, while widening blocks of W to float32 and using the float32
/// GEMM runs at the BLAS's speed. Products are the same (bf16 inputs are exact in float32; accumulation is
/// float32 either way), rounded to bf16 at the end. Undefined tensor when not applicable (autograd recording,
/// other dtypes or devices). Whether it should run is kernel_paths.h's choice, by measurement.
torch::Tensor bf16LinearViaFloat(const torch::Tensor& x, const torch::Tensor& weight,
                                 const torch::Tensor& bias);

/// The input gradient of y = x W^T for a frozen bf16 W on such a CPU: dx = dy W, with W widened to float32
/// in blocks as above. dy [..., N] (any float dtype); returns [..., K] in dy's dtype. Undefined tensor when
/// not applicable (other dtypes or devices).
torch::Tensor bf16LinearGradInput(const torch::Tensor& gradOut, const torch::Tensor& weight);

} // namespace lathe
