// The thin float32 products of a LoRA adapter: one side is the rank r (8-64), the other thousands. BLAS
// libraries are built for big squares and handle these poorly: OpenBLAS spends ~3 ms on a [256, 8] x [8, 3072]
// product with two OpenMP threads (~4 GFLOP/s, slower than the bf16 base product beside it) and 0.15 ms with
// one. These kernels stream the large operand once, keep the rank-sized one in cache, and split the large
// dimension across libtorch's threads. Float32 throughout; the sums run in a different order than a BLAS, so
// results agree to float32 rounding, not bit for bit. Whether the engine uses them is kernels/kernel_paths.h's
// choice ("lora": blas or lathe), by measurement.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace lathe {

/// out[m, j] = scale * sum_k a[m, k] b[j, k] for a [M, L], b [R, L] contiguous float32: x A^T, and g B^T... (the
/// rank-sized result of a product with the long side reduced). Returns [M, R].
torch::Tensor thinRowDots(const torch::Tensor& a, const torch::Tensor& b, double scale = 1.0);

/// out[m, :] = scale * sum_j c[m, j] b[j, :] for c [M, R], b [R, N] contiguous float32: t B^T with B^T given as
/// [R, N], dt A. Returns [M, N].
torch::Tensor thinRowCombos(const torch::Tensor& c, const torch::Tensor& b, double scale = 1.0);

/// out[j, :] = scale * sum_m c[m, j] a[m, :] for c [M, R], a [M, N] contiguous float32: the weight gradients
/// t^T g and dt^T x. Returns [R, N].
torch::Tensor thinColumnSums(const torch::Tensor& c, const torch::Tensor& a, double scale = 1.0);

} // namespace lathe
