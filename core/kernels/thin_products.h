// The thin products of a LoRA adapter: one side is the rank r (8-64), the other thousands. BLAS libraries are
// built for big squares and handle these poorly (OpenBLAS: ~3 ms for a [256, 8] x [8, 3072] product on two
// OpenMP threads, 0.15 ms on one), and they need float32 operands, so PEFT's way costs a float32 copy of every
// bf16 activation and gradient besides. These kernels stream the long operand once, as it is (bf16 or float32,
// widened in registers), keep the rank-sized one in cache, split the long dimension across libtorch's threads,
// and can add the product straight onto the base output. The rank-sized operands and every sum are float32; the
// sums run in a different order than a BLAS (with FMAs), so results agree to float32 rounding, not bit for bit.
// Whether the engine uses them is kernels/kernel_paths.h's choice ("lora": blas or lathe), by measurement.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace lathe {

/// out[m, j] = scale * sum_k a[m, k] b[j, k] for a [M, L] (float32 or bf16), b [R, L] float32, contiguous: x A^T
/// and g B (the rank-sized result of a product with the long side reduced). Returns float32 [M, R].
torch::Tensor thinRowDots(const torch::Tensor& a, const torch::Tensor& b, double scale = 1.0);

/// out[m, :] = base[m, :] + scale * sum_j c[m, j] b[j, :] for c [M, R], b [R, N] contiguous float32: t B^T with
/// B^T given as [R, N], and dt A. Without a base it is 0 +. The sum is rounded to float32, scaled, added to the
/// base (contiguous [M, N] of type outType) and rounded once to outType (float32 or bf16): PEFT's
/// `result + lora_B(lora_A(x)) * scaling` cast back to the base's dtype, in one pass. Returns [M, N] of outType.
torch::Tensor thinRowCombos(const torch::Tensor& c, const torch::Tensor& b, double scale = 1.0,
                            const torch::Tensor& base = {}, torch::ScalarType outType = torch::kFloat32);

/// out[j, :] = scale * sum_m c[m, j] a[m, :] for c [M, R] float32, a [M, N] float32 or bf16, contiguous: the
/// weight gradients t^T g and dt^T x. Returns float32 [R, N].
torch::Tensor thinColumnSums(const torch::Tensor& c, const torch::Tensor& a, double scale = 1.0);

/// For tests: runs the kernels' entry point for "v4" (AVX-512), "v3" (AVX2 + FMA) or "base" (SSE2), or with "" the
/// best one this CPU runs. Returns the names this CPU runs.
std::vector<std::string> useThinProductsIsa(const std::string& name);

} // namespace lathe
