#include "kernels/bf16_gemv.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <vector>

#include <ATen/Parallel.h>
#include <immintrin.h>
#include <torch/torch.h>

#include "kernels/fused_rows.h"

namespace lathe {

namespace {

__attribute__((target("avx512f,avx512bw,avx512bf16"))) inline float
dotRow(const std::uint16_t* w, const std::uint16_t* x, std::int64_t K)
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

// AVX2 + FMA (every x86-64 CPU of the last decade): bf16 weights widened to float32 by a 16-bit shift, the
// activation row already in float32. Memory-bound like the AVX512-BF16 kernel; only the arithmetic differs.
__attribute__((target("avx2,fma"))) inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) inline float bf16ToFloat(std::uint16_t v)
{
    const std::uint32_t bits = std::uint32_t(v) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

// x reordered to match how _mm256_unpack{lo,hi}_epi16 widen 16 bf16 weights: per 128-bit lane, the low
// half gives elements 0-3 (lane 0) and 8-11 (lane 1), the high half 4-7 and 12-15. Widening is then one
// unpack with zero per 8 weights (a bf16 is the upper half of its float32).
void permuteForUnpack(const float* x, float* xp, std::int64_t K16)
{
    for (std::int64_t k = 0; k < K16; k += 16) {
        for (int i = 0; i < 4; ++i) {
            xp[k + i] = x[k + i];
            xp[k + 4 + i] = x[k + 8 + i];
            xp[k + 8 + i] = x[k + 4 + i];
            xp[k + 12 + i] = x[k + 12 + i];
        }
    }
}

// One row at a time, so that the weights are read as one sequential stream (rows of a 1024-wide layer are
// only 2 KiB: interleaving four of them gives the hardware prefetcher four short streams and halves the
// bandwidth). Four accumulators over 32 weights hide the FMA latency; x stays in L1.
__attribute__((target("avx2,fma"))) void gemvRowsAvx2(const std::uint16_t* W, const float* x, const float* xp,
                                                      float* y, std::int64_t begin, std::int64_t end,
                                                      std::int64_t K)
{
    const std::int64_t K32 = K - K % 32, K16 = K - K % 16;
    const __m256i zero = _mm256_setzero_si256();
    for (std::int64_t n = begin; n < end; ++n) {
        const std::uint16_t* w = W + n * K;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
               a3 = _mm256_setzero_ps();
        std::int64_t k = 0;
        for (; k < K32; k += 32) {
            _mm_prefetch(reinterpret_cast<const char*>(w + k) + 1024, _MM_HINT_T0);
            const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + k));
            const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + k + 16));
            a0 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, v0)),
                                 _mm256_loadu_ps(xp + k), a0);
            a1 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, v0)),
                                 _mm256_loadu_ps(xp + k + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, v1)),
                                 _mm256_loadu_ps(xp + k + 16), a2);
            a3 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, v1)),
                                 _mm256_loadu_ps(xp + k + 24), a3);
        }
        for (; k < K16; k += 16) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + k));
            a0 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, v)), _mm256_loadu_ps(xp + k),
                                 a0);
            a1 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, v)),
                                 _mm256_loadu_ps(xp + k + 8), a1);
        }
        float sum = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        for (; k < K; ++k)
            sum += bf16ToFloat(w[k]) * x[k];
        y[n] = sum;
    }
}

// Several activation rows (a batched decode step, up to kMaxSkinnyRows): each weight row is read from memory
// once and meets every activation row while it sits in L1, so a step costs about one weight stream however
// many rows the batch holds (the widened-GEMM path would write and reread a float32 copy of every weight).
// MB activation rows per pass with two accumulators each; more rows than MB take further passes over the
// same weight row, which is then in L1. xp holds each row of x permuted as permuteForUnpack does.
template <int MB>
__attribute__((target("avx2,fma"))) inline void skinnyRowAvx2(const std::uint16_t* w, const float* x,
                                                               const float* xp, float* y, std::int64_t K,
                                                               std::int64_t K16, std::int64_t ldy)
{
    const __m256i zero = _mm256_setzero_si256();
    __m256 lo[MB], hi[MB];
    for (int m = 0; m < MB; ++m)
        lo[m] = hi[m] = _mm256_setzero_ps();
    std::int64_t k = 0;
    for (; k < K16; k += 16) {
        if ((k & 31) == 0) // one prefetch per 64-byte line
            _mm_prefetch(reinterpret_cast<const char*>(w + k) + 1024, _MM_HINT_T0);
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + k));
        const __m256 wl = _mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, v));
        const __m256 wh = _mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, v));
        for (int m = 0; m < MB; ++m) {
            lo[m] = _mm256_fmadd_ps(wl, _mm256_loadu_ps(xp + m * K16 + k), lo[m]);
            hi[m] = _mm256_fmadd_ps(wh, _mm256_loadu_ps(xp + m * K16 + k + 8), hi[m]);
        }
    }
    for (int m = 0; m < MB; ++m) {
        float sum = hsum8(_mm256_add_ps(lo[m], hi[m]));
        for (std::int64_t t = k; t < K; ++t)
            sum += bf16ToFloat(w[t]) * x[m * K + t];
        y[m * ldy] = sum;
    }
}

// Rows [begin, end) of Y = X W^T for M activation rows (x [M, K] float32, xp [M, K16] permuted, y [M, N]).
__attribute__((target("avx2,fma"))) void skinnyRowsAvx2(const std::uint16_t* W, const float* x, const float* xp,
                                                        float* y, std::int64_t M, std::int64_t begin,
                                                        std::int64_t end, std::int64_t K, std::int64_t N)
{
    const std::int64_t K16 = K - K % 16;
    for (std::int64_t n = begin; n < end; ++n) {
        const std::uint16_t* w = W + n * K;
        std::int64_t m = 0;
        for (; m + 4 <= M; m += 4)
            skinnyRowAvx2<4>(w, x + m * K, xp + m * K16, y + m * N + n, K, K16, N);
        switch (M - m) {
        case 3: skinnyRowAvx2<3>(w, x + m * K, xp + m * K16, y + m * N + n, K, K16, N); break;
        case 2: skinnyRowAvx2<2>(w, x + m * K, xp + m * K16, y + m * N + n, K, K16, N); break;
        case 1: skinnyRowAvx2<1>(w, x + m * K, xp + m * K16, y + m * N + n, K, K16, N); break;
        default: break;
        }
    }
}

} // namespace

int kernelParallelThreads(std::int64_t items)
{
    std::atomic<std::uint64_t> seen{0};
    at::parallel_for(0, items, 1, [&](std::int64_t, std::int64_t) {
        seen.fetch_or(std::uint64_t(1) << (at::get_thread_num() % 64));
    });
    return __builtin_popcountll(seen.load());
}

bool nativeBf16Available()
{
    static const bool available = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw");
    return available;
}

bool bf16GemvAvailable()
{
    static const bool available =
        nativeBf16Available() || (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
    return available;
}

torch::Tensor bf16Gemv(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias)
{
    return bf16GemvMany(x, {weight}, {bias})[0];
}

std::vector<torch::Tensor> bf16GemvMany(const torch::Tensor& x, const std::vector<torch::Tensor>& weights,
                                        const std::vector<torch::Tensor>& biases)
{
    const std::size_t count = weights.size();
    std::vector<torch::Tensor> outs(count);
    if (count == 0 || biases.size() != count || !bf16GemvAvailable() || !x.device().is_cpu() ||
        x.scalar_type() != torch::kBFloat16)
        return outs;
    if (torch::GradMode::is_enabled() && x.requires_grad())
        return outs;
    const std::int64_t K = x.size(-1);
    // Each weight's 64-row chunks, numbered across all the weights: chunkStart[i] is weight i's first.
    std::vector<std::int64_t> chunkStart(count + 1, 0);
    std::vector<const std::uint16_t*> W(count);
    std::vector<std::uint16_t*> y(count);
    std::vector<const std::uint16_t*> bias(count, nullptr);
    std::vector<torch::Tensor> biasKeep; // contiguous copies where a bias was not
    for (std::size_t i = 0; i < count; ++i) {
        const auto& w = weights[i];
        const auto& b = biases[i];
        if (w.scalar_type() != torch::kBFloat16 || w.dim() != 2 || w.size(1) != K || x.numel() != K ||
            !w.is_contiguous() || !w.device().is_cpu() || (torch::GradMode::is_enabled() && w.requires_grad()) ||
            (b.defined() && (b.scalar_type() != torch::kBFloat16 || b.numel() != w.size(0))))
            return std::vector<torch::Tensor>(count);
        W[i] = reinterpret_cast<const std::uint16_t*>(w.data_ptr());
        auto sizes = x.sizes().vec();
        sizes.back() = w.size(0);
        outs[i] = torch::empty(sizes, x.options().dtype(torch::kBFloat16));
        y[i] = reinterpret_cast<std::uint16_t*>(outs[i].data_ptr());
        if (b.defined()) {
            biasKeep.push_back(b.contiguous());
            bias[i] = reinterpret_cast<const std::uint16_t*>(biasKeep.back().data_ptr());
        }
        chunkStart[i + 1] = chunkStart[i] + (w.size(0) + 63) / 64;
    }
    // Chunks of 64 rows (a multiple of 4) keep the four-row inner loop intact inside each thread's range; the
    // weights' chunks form one range, so products that share their input run in one parallel region.
    auto forChunks = [&](auto&& rows) {
        at::parallel_for(0, chunkStart[count], 1, [&](std::int64_t first, std::int64_t last) {
            std::size_t i = std::upper_bound(chunkStart.begin(), chunkStart.end(), first) - chunkStart.begin() - 1;
            for (std::int64_t c = first; c < last;) {
                while (c >= chunkStart[i + 1])
                    ++i;
                const std::int64_t upTo = std::min(last, chunkStart[i + 1]);
                const std::int64_t N = weights[i].size(0);
                rows(i, (c - chunkStart[i]) * 64, std::min(N, (upTo - chunkStart[i]) * 64));
                c = upTo;
            }
        });
    };
    // Each thread rounds its rows to bf16 as they come (after adding the bias in float32, as libtorch's add and
    // cast would), 64 rows at a time: no float32 output tensor and no cast op after the product.
    auto inBlocks = [&](std::size_t i, std::int64_t begin, std::int64_t end, auto&& compute) {
        float block[64];
        for (std::int64_t n0 = begin; n0 < end; n0 += 64) {
            const std::int64_t rows = std::min<std::int64_t>(64, end - n0);
            compute(W[i] + n0 * K, block, rows);
            for (std::int64_t r = 0; r < rows; ++r)
                y[i][n0 + r] = fused::toBf16(bias[i] ? block[r] + fused::load(bias[i], n0 + r) : block[r]);
        }
    };
    auto xc = x.contiguous();
    if (nativeBf16Available()) {
        const auto* xv = reinterpret_cast<const std::uint16_t*>(xc.data_ptr());
        forChunks([&](std::size_t i, std::int64_t begin, std::int64_t end) {
            inBlocks(i, begin, end, [&](const std::uint16_t* w, float* out, std::int64_t rows) {
                gemvRows(w, xv, out, 0, rows, K);
            });
        });
    } else {
        const auto xf = xc.to(torch::kFloat32).contiguous();
        const float* xv = xf.data_ptr<float>();
        std::vector<float> xp(std::size_t(K - K % 16));
        permuteForUnpack(xv, xp.data(), K - K % 16);
        forChunks([&](std::size_t i, std::int64_t begin, std::int64_t end) {
            inBlocks(i, begin, end, [&](const std::uint16_t* w, float* out, std::int64_t rows) {
                gemvRowsAvx2(w, xv, xp.data(), out, 0, rows, K);
            });
        });
    }
    return outs;
}

torch::Tensor bf16GemmSkinny(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias)
{
    if (!bf16GemvAvailable() || !x.device().is_cpu() ||
        x.scalar_type() != torch::kBFloat16 || weight.scalar_type() != torch::kBFloat16 || weight.dim() != 2 ||
        !weight.is_contiguous() || (bias.defined() && bias.scalar_type() != torch::kBFloat16))
        return {};
    if (torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad()))
        return {};
    const std::int64_t K = weight.size(1), N = weight.size(0);
    if (K == 0 || x.size(-1) != K)
        return {};
    const std::int64_t M = x.numel() / K;
    if (M < 1 || M > kMaxSkinnyRows)
        return {};
    const auto xf = x.reshape({M, K}).to(torch::kFloat32).contiguous();
    const float* xv = xf.data_ptr<float>();
    const std::int64_t K16 = K - K % 16;
    std::vector<float> xp(std::size_t(M * K16));
    for (std::int64_t m = 0; m < M; ++m)
        permuteForUnpack(xv + m * K, xp.data() + m * K16, K16);
    auto y = torch::empty({M, N}, torch::TensorOptions().dtype(torch::kFloat32));
    const auto* W = reinterpret_cast<const std::uint16_t*>(weight.data_ptr());
    float* out = y.data_ptr<float>();
    const std::int64_t chunks = (N + 63) / 64;
    at::parallel_for(0, chunks, 1, [&](std::int64_t first, std::int64_t last) {
        skinnyRowsAvx2(W, xv, xp.data(), out, M, first * 64, std::min(N, last * 64), K, N);
    });
    if (bias.defined())
        y += bias.to(torch::kFloat32);
    auto sizes = x.sizes().vec();
    sizes.back() = N;
    return y.to(torch::kBFloat16).view(sizes);
}

torch::Tensor bf16LinearViaFloat(const torch::Tensor& x, const torch::Tensor& weight,
                                 const torch::Tensor& bias)
{
    if (!x.device().is_cpu() || x.scalar_type() != torch::kBFloat16 || weight.scalar_type() != torch::kBFloat16 ||
        weight.dim() != 2)
        return {};
    // Under autograd the float copy of W would be saved for the backward pass: keep this to inference.
    if (torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad()))
        return {};
    const std::int64_t K = weight.size(1), N = weight.size(0);
    const auto xf = x.reshape({-1, K}).to(torch::kFloat32);
    const std::int64_t M = xf.size(0);
    auto out = torch::empty({M, N}, x.options());
    // Blocks of rows of W, so that the float copy stays small (an lm_head is 150k rows) and in cache.
    const std::int64_t block =
        std::max<std::int64_t>(256, (std::int64_t(4) << 20) / std::max<std::int64_t>(K, 1));
    for (std::int64_t n0 = 0; n0 < N; n0 += block) {
        const std::int64_t nb = std::min(block, N - n0);
        const auto wf = weight.narrow(0, n0, nb).to(torch::kFloat32);
        auto yf = torch::mm(xf, wf.t());
        if (bias.defined())
            yf += bias.narrow(0, n0, nb).to(torch::kFloat32);
        out.narrow(1, n0, nb).copy_(yf);
    }
    auto sizes = x.sizes().vec();
    sizes.back() = N;
    return out.view(sizes);
}

torch::Tensor bf16LinearGradInput(const torch::Tensor& gradOut, const torch::Tensor& weight)
{
    if (!gradOut.device().is_cpu() || weight.scalar_type() != torch::kBFloat16 || weight.dim() != 2)
        return {};
    const std::int64_t K = weight.size(1), N = weight.size(0);
    const auto gf = gradOut.reshape({-1, N}).to(torch::kFloat32);
    auto dx = torch::zeros({gf.size(0), K}, gf.options());
    const std::int64_t block =
        std::max<std::int64_t>(256, (std::int64_t(4) << 20) / std::max<std::int64_t>(K, 1));
    for (std::int64_t n0 = 0; n0 < N; n0 += block) {
        const std::int64_t nb = std::min(block, N - n0);
        dx.addmm_(gf.narrow(1, n0, nb), weight.narrow(0, n0, nb).to(torch::kFloat32));
    }
    auto sizes = gradOut.sizes().vec();
    sizes.back() = K;
    return dx.view(sizes).to(gradOut.scalar_type());
}

} // namespace lathe
