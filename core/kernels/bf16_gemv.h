// A matrix-vector product for bf16 weights on CPUs with AVX512-BF16 (AMD Zen 4, Intel Cooper Lake and
// Sapphire Rapids): the decode step of generation, where one token's activations meet every weight once
// and speed is set by how fast the weights stream from memory.
//
// libtorch 1.13's oneDNN path reaches roughly two thirds of the memory bandwidth for a single row; this
// kernel streams four weight rows at a time against one activation vector with the vdpbf16ps instruction
// (bf16 products, float32 accumulation) and splits rows across libtorch's threads.
#pragma once

#include <torch/types.h>

namespace lathe {

/// Whether this CPU runs the kernel (checked once).
bool bf16GemvAvailable();

/// y = x W^T (+ bias) for x [..., K] holding one row in total, W [N, K] contiguous bf16, bias [N] or
/// undefined. Returns an undefined tensor when the fast path does not apply (the caller falls back).
torch::Tensor bf16Gemv(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

} // namespace lathe
