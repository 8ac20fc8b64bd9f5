#include "kernels/thin_products.h"

#include <algorithm>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "util/error.h"

namespace lathe {

namespace {

// Compiled for AVX-512, AVX2 and plain x86-64; the loader picks the clone the CPU runs. The loops over 16
// independent lanes vectorize without reassociating any float sum.
#define LATHE_THIN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

constexpr int kLanes = 16;
constexpr int kTile = 8; // rank rows handled per pass over a row of the long operand

LATHE_THIN_CLONES
void rowDotsRange(const float* a, const float* b, float* out, std::int64_t m0, std::int64_t m1, std::int64_t L,
                  std::int64_t R, float scale)
{
    const std::int64_t L16 = L - L % kLanes;
    for (std::int64_t m = m0; m < m1; ++m) {
        const float* am = a + m * L;
        for (std::int64_t j0 = 0; j0 < R; j0 += kTile) {
            const std::int64_t jn = std::min<std::int64_t>(kTile, R - j0);
            float acc[kTile][kLanes] = {};
            for (std::int64_t k = 0; k < L16; k += kLanes)
                for (std::int64_t j = 0; j < jn; ++j) {
                    const float* bj = b + (j0 + j) * L + k;
                    for (int l = 0; l < kLanes; ++l)
                        acc[j][l] += am[k + l] * bj[l];
                }
            for (std::int64_t j = 0; j < jn; ++j) {
                float sum = 0;
                for (int l = 0; l < kLanes; ++l)
                    sum += acc[j][l];
                const float* bj = b + (j0 + j) * L;
                for (std::int64_t k = L16; k < L; ++k)
                    sum += am[k] * bj[k];
                out[m * R + j0 + j] = scale * sum;
            }
        }
    }
}

LATHE_THIN_CLONES
void rowCombosRange(const float* c, const float* b, float* out, std::int64_t m0, std::int64_t m1, std::int64_t N,
                    std::int64_t R, float scale)
{
    for (std::int64_t m = m0; m < m1; ++m) {
        float* om = out + m * N;
        const float c0 = scale * c[m * R];
        const float* b0 = b;
        for (std::int64_t n = 0; n < N; ++n)
            om[n] = c0 * b0[n];
        for (std::int64_t j = 1; j < R; ++j) {
            const float cj = scale * c[m * R + j];
            const float* bj = b + j * N;
            for (std::int64_t n = 0; n < N; ++n)
                om[n] += cj * bj[n];
        }
    }
}

LATHE_THIN_CLONES
void columnSumsRange(const float* c, const float* a, float* out, std::int64_t n0, std::int64_t n1, std::int64_t M,
                     std::int64_t N, std::int64_t R, float scale)
{
    const std::int64_t width = n1 - n0;
    for (std::int64_t j = 0; j < R; ++j)
        std::fill(out + j * N + n0, out + j * N + n1, 0.0f);
    for (std::int64_t m = 0; m < M; ++m) {
        const float* am = a + m * N + n0;
        for (std::int64_t j = 0; j < R; ++j) {
            const float cj = scale * c[m * R + j];
            float* oj = out + j * N + n0;
            for (std::int64_t n = 0; n < width; ++n)
                oj[n] += cj * am[n];
        }
    }
}

void check(const torch::Tensor& t, const char* what)
{
    if (t.scalar_type() != torch::kFloat32 || !t.device().is_cpu() || t.dim() != 2 || !t.is_contiguous())
        fail("internal error: thin product operand ", what, " must be a contiguous 2-D float32 CPU tensor");
}

} // namespace

torch::Tensor thinRowDots(const torch::Tensor& a, const torch::Tensor& b, double scale)
{
    check(a, "a");
    check(b, "b");
    const std::int64_t M = a.size(0), L = a.size(1), R = b.size(0);
    auto out = torch::empty({M, R}, a.options());
    const float *pa = a.data_ptr<float>(), *pb = b.data_ptr<float>();
    float* po = out.data_ptr<float>();
    at::parallel_for(0, M, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(1, L)),
                     [&](std::int64_t m0, std::int64_t m1) { rowDotsRange(pa, pb, po, m0, m1, L, R, float(scale)); });
    return out;
}

torch::Tensor thinRowCombos(const torch::Tensor& c, const torch::Tensor& b, double scale)
{
    check(c, "c");
    check(b, "b");
    const std::int64_t M = c.size(0), R = c.size(1), N = b.size(1);
    auto out = torch::empty({M, N}, c.options());
    const float *pc = c.data_ptr<float>(), *pb = b.data_ptr<float>();
    float* po = out.data_ptr<float>();
    at::parallel_for(0, M, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(1, N)),
                     [&](std::int64_t m0, std::int64_t m1) { rowCombosRange(pc, pb, po, m0, m1, N, R, float(scale)); });
    return out;
}

torch::Tensor thinColumnSums(const torch::Tensor& c, const torch::Tensor& a, double scale)
{
    check(c, "c");
    check(a, "a");
    const std::int64_t M = c.size(0), R = c.size(1), N = a.size(1);
    auto out = torch::empty({R, N}, c.options());
    const float *pc = c.data_ptr<float>(), *pa = a.data_ptr<float>();
    float* po = out.data_ptr<float>();
    // Column slices of 256 floats: each thread owns its slice of every output row.
    at::parallel_for(0, (N + 255) / 256, 1, [&](std::int64_t s0, std::int64_t s1) {
        columnSumsRange(pc, pa, po, s0 * 256, std::min(N, s1 * 256), M, N, R, float(scale));
    });
    return out;
}

} // namespace lathe
