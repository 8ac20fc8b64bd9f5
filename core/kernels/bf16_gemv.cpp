#include "kernels/bf16_gemv.h"

#include <cstdint>

#include <ATen/Parallel.h>
#include <immintrin.h>
#include <torch/torch.h>

namespace lathe {

namespace {

__attribute__((target("avx512f,avx512bw,avx512bf16"))) inline float dotRow(const std::uint16_t* w,
                                                                             const std::uint16_t* x,
                                                                             std::int64_t K)
{
    __m512 acc = _mm512_setzero_ps();
    std::int64_t k = 0;
    for (; k + 32 <= K; k += 32)
        acc = _mm512_dpbf16_ps(acc, (__m512bh)_mm512_loadu_si512(w + k), (__m512bh)_mm512_loadu_si512(x + k));
    if (k < K) {
        const __mmask32 tail = (__mmask32)((1ull << (K - k)) - 1);
        acc = _mm512_dpbf16_ps(acc, (__m512bh)_mm512_maskz_loadu_epi16(tail, w + k),
                               (__m512bh)_mm512_maskz_loadu_epi16(tail, x + k));
    }
    return _mm512_reduce_add_ps(acc);
}

// Rows [begin, end) of y = W x. Four rows per pass share each load of x.
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void gemvRows(const std::uint16_t* W,
                                                                      const std::uint16_t* x, float* y,
                                                                      std::int64_t begin, std::int64_t end,
                                                                      std::int64_t K)
{
    std::int64_t n = begin;
    if (K % 32 == 0) {
        for (; n + 4 <= end; n += 4) {
            const std::uint16_t* w0 = W + n * K;
            const std::uint16_t* w1 = w0 + K;
            const std::uint16_t* w2 = w1 + K;
            const std::uint16_t* w3 = w2 + K;
            __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(),
                   a3 = _mm512_setzero_ps();
            for (std::int64_t k = 0; k < K; k += 32) {
                const __m512bh xv = (__m512bh)_mm512_loadu_si512(x + k);
                a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512(w0 + k), xv);
                a1 = _mm512_dpbf16_ps(a1, (__m512bh)_mm512_loadu_si512(w1 + k), xv);
                a2 = _mm512_dpbf16_ps(a2, (__m512bh)_mm512_loadu_si512(w2 + k), xv);
                a3 = _mm512_dpbf16_ps(a3, (__m512bh)_mm512_loadu_si512(w3 + k), xv);
            }
            y[n] = _mm512_reduce_add_ps(a0);
            y[n + 1] = _mm512_reduce_add_ps(a1);
            y[n + 2] = _mm512_reduce_add_ps(a2);
            y[n + 3] = _mm512_reduce_add_ps(a3);
        }
    }
    for (; n < end; ++n)
        y[n] = dotRow(W + n * K, x, K);
}

} // namespace

bool bf16GemvAvailable()
{
    static const bool available = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw");
    return available;
}

torch::Tensor bf16Gemv(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias)
{
    const std::int64_t K = weight.size(1), N = weight.size(0);
    if (!bf16GemvAvailable() || !x.device().is_cpu() || x.scalar_type() != torch::kBFloat16 ||
        weight.scalar_type() != torch::kBFloat16 || x.numel() != K || !weight.is_contiguous() ||
        (bias.defined() && bias.scalar_type() != torch::kBFloat16))
        return {};
    if (torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad()))
        return {};
    auto xc = x.contiguous();
    auto y = torch::empty({N}, torch::TensorOptions().dtype(torch::kFloat32));
    const auto* W = reinterpret_cast<const std::uint16_t*>(weight.data_ptr());
    const auto* xv = reinterpret_cast<const std::uint16_t*>(xc.data_ptr());
    float* out = y.data_ptr<float>();
    // Chunks of 64 rows (a multiple of 4) keep the four-row inner loop intact inside each thread's range.
    const std::int64_t chunks = (N + 63) / 64;
    at::parallel_for(0, chunks, 1, [&](std::int64_t first, std::int64_t last) {
        gemvRows(W, xv, out, first * 64, std::min(N, last * 64), K);
    });
    if (bias.defined())
        y += bias.to(torch::kFloat32);
    auto sizes = x.sizes().vec();
    sizes.back() = N;
    return y.to(torch::kBFloat16).view(sizes);
}

} // namespace lathe
