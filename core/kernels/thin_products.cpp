#include "kernels/thin_products.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "util/error.h"

// The vector helpers below are always inlined into their ISA's entry point; no vector crosses a call.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace lathe {

namespace {

// Each kernel is one template body over the vector width W (floats per vector) and its register tiles, inlined
// into three entry points compiled for x86-64-v4 (AVX-512: 16 lanes, 32 registers), x86-64-v3 (AVX2 + FMA: 8
// lanes, 16 registers) and plain x86-64 (SSE2: 4 lanes); isa() picks the one the CPU runs. The bodies use GCC's
// vector types, so the multiply-adds become FMAs where the ISA has them (this file is built with
// -ffp-contract=fast). The long operand (x, g: the activations) is read as it is, bf16 or float32, and widened in
// registers; the rank-sized operands and every sum are float32.

using Bf16 = std::uint16_t; // the bits of a bf16 value

// (Alias templates drop the vector attribute; a class template's member typedef keeps it.)
template <int W> struct Vectors
{
    typedef float F32 __attribute__((vector_size(W * 4)));
    typedef std::uint32_t U32 __attribute__((vector_size(W * 4)));
    typedef std::uint16_t U16 __attribute__((vector_size(W * 2)));
};
template <int W> using Vec = typename Vectors<W>::F32;
template <int W> using U32 = typename Vectors<W>::U32;
template <int W> using U16 = typename Vectors<W>::U16;

#define LATHE_THIN_INLINE inline __attribute__((always_inline))

LATHE_THIN_INLINE float loadOne(const float* p) { return *p; }
LATHE_THIN_INLINE float loadOne(const Bf16* p)
{
    const std::uint32_t u = std::uint32_t(*p) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

template <int W> LATHE_THIN_INLINE Vec<W> loadVec(const float* p)
{
    Vec<W> v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

template <int W> LATHE_THIN_INLINE Vec<W> loadVec(const Bf16* p)
{
    U16<W> h;
    std::memcpy(&h, p, sizeof h);
    const U32<W> u = __builtin_convertvector(h, U32<W>) << 16;
    Vec<W> v;
    std::memcpy(&v, &u, sizeof v);
    return v;
}

/// c10::BFloat16's rounding: to nearest even, NaN to the quiet NaN 0x7FC0.
template <int W> LATHE_THIN_INLINE U32<W> bf16Bits(Vec<W> v)
{
    U32<W> u;
    std::memcpy(&u, &v, sizeof u);
    const U32<W> rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    const U32<W> nan = (U32<W>)((u & 0x7FFFFFFFu) > 0x7F800000u);
    return (rounded & ~nan) | (0x7FC0u & nan);
}

template <int W> LATHE_THIN_INLINE void storeVec(float* p, Vec<W> v) { std::memcpy(p, &v, sizeof v); }
template <int W> LATHE_THIN_INLINE void storeVec(Bf16* p, Vec<W> v)
{
    const U16<W> h = __builtin_convertvector(bf16Bits<W>(v), U16<W>);
    std::memcpy(p, &h, sizeof h);
}

LATHE_THIN_INLINE void storeOne(float* p, float v) { *p = v; }
LATHE_THIN_INLINE void storeOne(Bf16* p, float v)
{
    Vec<1> one = {v};
    *p = Bf16(bf16Bits<1>(one)[0]);
}

template <int W> LATHE_THIN_INLINE float laneSum(Vec<W> v)
{
    float s = 0;
    for (int l = 0; l < W; ++l)
        s += v[l];
    return s;
}

/// out[m, j] = scale * sum_k a[m, k] b[j, k] for rows [m0, m1); R a multiple of JT. Two rows of a share each
/// load of b; JT rank rows share each load of a.
template <int W, int JT, class T>
LATHE_THIN_INLINE void rowDotsBody(const T* a, const float* b, float* out, std::int64_t m0, std::int64_t m1,
                                   std::int64_t L, std::int64_t R, float scale)
{
    const std::int64_t Lw = L - L % W;
    for (std::int64_t m = m0; m < m1; m += 2) {
        const bool two = m + 1 < m1;
        const T* a0 = a + m * L;
        const T* a1 = two ? a0 + L : a0;
        for (std::int64_t j0 = 0; j0 < R; j0 += JT) {
            Vec<W> acc0[JT], acc1[JT];
            for (int j = 0; j < JT; ++j)
                acc0[j] = acc1[j] = Vec<W>{};
            for (std::int64_t k = 0; k < Lw; k += W) {
                const Vec<W> x0 = loadVec<W>(a0 + k), x1 = loadVec<W>(a1 + k);
#pragma GCC unroll 16
                for (int j = 0; j < JT; ++j) {
                    const Vec<W> bj = loadVec<W>(b + (j0 + j) * L + k);
                    acc0[j] += x0 * bj;
                    acc1[j] += x1 * bj;
                }
            }
            for (int j = 0; j < JT; ++j) {
                float s0 = laneSum<W>(acc0[j]), s1 = laneSum<W>(acc1[j]);
                const float* bj = b + (j0 + j) * L;
                for (std::int64_t k = Lw; k < L; ++k) {
                    s0 += loadOne(a0 + k) * bj[k];
                    s1 += loadOne(a1 + k) * bj[k];
                }
                out[m * R + j0 + j] = scale * s0;
                if (two)
                    out[(m + 1) * R + j0 + j] = scale * s1;
            }
        }
    }
}

/// out[m, n] = base[m, n] + scale * sum_j c[m, j] b[j, n] (no base: 0 +) for rows [m0, m1), rounded once to O.
template <int W, class O, class B>
LATHE_THIN_INLINE void rowCombosBody(const float* c, const float* b, const B* base, O* out, std::int64_t m0,
                                     std::int64_t m1, std::int64_t N, std::int64_t R, float scale)
{
    const std::int64_t Nw = N - N % (2 * W);
    for (std::int64_t m = m0; m < m1; m += 2) {
        const std::int64_t m1st = m, m2nd = m + 1 < m1 ? m + 1 : m; // an odd last row is computed twice
        const float *c0 = c + m1st * R, *c1 = c + m2nd * R;
        O *o0 = out + m1st * N, *o1 = out + m2nd * N;
        const B *base0 = base ? base + m1st * N : nullptr, *base1 = base ? base + m2nd * N : nullptr;
        auto finish = [&](O* o, const B* rowBase, std::int64_t n, Vec<W> s) {
            s *= scale;
            if (rowBase)
                s += loadVec<W>(rowBase + n);
            storeVec<W>(o + n, s);
        };
        for (std::int64_t n = 0; n < Nw; n += 2 * W) {
            Vec<W> s00{}, s01{}, s10{}, s11{};
            for (std::int64_t j = 0; j < R; ++j) {
                const Vec<W> b0 = loadVec<W>(b + j * N + n), b1 = loadVec<W>(b + j * N + n + W);
                const float cj0 = c0[j], cj1 = c1[j];
                s00 += cj0 * b0;
                s01 += cj0 * b1;
                s10 += cj1 * b0;
                s11 += cj1 * b1;
            }
            finish(o0, base0, n, s00);
            finish(o0, base0, n + W, s01);
            finish(o1, base1, n, s10);
            finish(o1, base1, n + W, s11);
        }
        for (std::int64_t n = Nw; n < N; ++n)
            for (const auto& [cm, om, bm] : {std::tuple{c0, o0, base0}, std::tuple{c1, o1, base1}}) {
                float s = 0;
                for (std::int64_t j = 0; j < R; ++j)
                    s += cm[j] * b[j * N + n];
                s *= scale;
                storeOne(om + n, bm ? s + loadOne(bm + n) : s);
            }
    }
}

/// out[j, n] = scale * sum_m c[m, j] a[m, n] for columns [n0, n1); R a multiple of JT. Each thread owns its
/// columns of every output row; the JT x NV accumulators stay in registers over all M rows.
template <int W, int JT, int NV, class T>
LATHE_THIN_INLINE void columnSumsBody(const float* c, const T* a, float* out, std::int64_t n0, std::int64_t n1,
                                      std::int64_t M, std::int64_t N, std::int64_t R, float scale)
{
    constexpr int kWidth = W * NV;
    const std::int64_t nw = n0 + (n1 - n0) / kWidth * kWidth;
    for (std::int64_t j0 = 0; j0 < R; j0 += JT) {
        for (std::int64_t n = n0; n < nw; n += kWidth) {
            Vec<W> acc[JT][NV];
            for (int j = 0; j < JT; ++j)
                for (int v = 0; v < NV; ++v)
                    acc[j][v] = Vec<W>{};
            for (std::int64_t m = 0; m < M; ++m) {
                Vec<W> x[NV];
                for (int v = 0; v < NV; ++v)
                    x[v] = loadVec<W>(a + m * N + n + v * W);
                const float* cm = c + m * R + j0;
#pragma GCC unroll 16
                for (int j = 0; j < JT; ++j)
                    for (int v = 0; v < NV; ++v)
                        acc[j][v] += cm[j] * x[v];
            }
            for (int j = 0; j < JT; ++j)
                for (int v = 0; v < NV; ++v)
                    storeVec<W>(out + (j0 + j) * N + n + v * W, acc[j][v] * scale);
        }
        for (std::int64_t n = nw; n < n1; ++n)
            for (std::int64_t j = j0; j < j0 + JT; ++j) {
                float s = 0;
                for (std::int64_t m = 0; m < M; ++m)
                    s += c[m * R + j] * loadOne(a + m * N + n);
                out[j * N + n] = scale * s;
            }
    }
}

// The entry points, one per ISA. Tiles: v4 keeps 16 of its 32 vector registers as accumulators, v3 and the
// baseline 8 of their 16.
#define LATHE_THIN_ENTRY(NAME, TARGET, W, JT)                                                                       \
    template <class T>                                                                                              \
    TARGET void rowDots##NAME(const T* a, const float* b, float* out, std::int64_t m0, std::int64_t m1,             \
                              std::int64_t L, std::int64_t R, float scale)                                          \
    {                                                                                                               \
        rowDotsBody<W, JT>(a, b, out, m0, m1, L, R, scale);                                                         \
    }                                                                                                               \
    template <class O, class B>                                                                                     \
    TARGET void rowCombos##NAME(const float* c, const float* b, const B* base, O* out, std::int64_t m0,             \
                                std::int64_t m1, std::int64_t N, std::int64_t R, float scale)                       \
    {                                                                                                               \
        rowCombosBody<W>(c, b, base, out, m0, m1, N, R, scale);                                                     \
    }                                                                                                               \
    template <class T>                                                                                              \
    TARGET void columnSums##NAME(const float* c, const T* a, float* out, std::int64_t n0, std::int64_t n1,          \
                                 std::int64_t M, std::int64_t N, std::int64_t R, float scale)                       \
    {                                                                                                               \
        columnSumsBody<W, JT, 2>(c, a, out, n0, n1, M, N, R, scale);                                                \
    }

LATHE_THIN_ENTRY(V4, __attribute__((target("arch=x86-64-v4"))), 16, 8)
LATHE_THIN_ENTRY(V3, __attribute__((target("arch=x86-64-v3"))), 8, 4)
LATHE_THIN_ENTRY(Base, , 4, 4)

enum class Isa { V4, V3, Base };

Isa bestIsa()
{
    static const Isa best = __builtin_cpu_supports("x86-64-v4")   ? Isa::V4
                            : __builtin_cpu_supports("x86-64-v3") ? Isa::V3
                                                                  : Isa::Base;
    return best;
}

std::atomic<Isa> g_isa{bestIsa()};

Isa isa() { return g_isa.load(std::memory_order_relaxed); }

constexpr std::int64_t kRankTile = 8; // every entry's JT divides it

void check(const torch::Tensor& t, const char* what, bool bf16Allowed)
{
    const auto type = t.scalar_type();
    if ((type != torch::kFloat32 && !(bf16Allowed && type == torch::kBFloat16)) || !t.device().is_cpu() ||
        t.dim() != 2 || !t.is_contiguous())
        fail("internal error: thin product operand ", what, " must be a contiguous 2-D ",
             bf16Allowed ? "float32 or bf16" : "float32", " CPU tensor");
}

/// t with its rows (dim 0) or columns (dim 1) zero-padded to a multiple of the rank tile.
torch::Tensor padRank(const torch::Tensor& t, int dim)
{
    const std::int64_t r = t.size(dim), padded = (r + kRankTile - 1) / kRankTile * kRankTile;
    if (padded == r)
        return t;
    auto sizes = t.sizes().vec();
    sizes[dim] = padded;
    auto out = torch::zeros(sizes, t.options());
    out.narrow(dim, 0, r).copy_(t);
    return out;
}

template <class T> const T* elements(const torch::Tensor& t)
{
    return static_cast<const T*>(t.data_ptr());
}

} // namespace

torch::Tensor thinRowDots(const torch::Tensor& a, const torch::Tensor& b, double scale)
{
    check(a, "a", true);
    check(b, "b", false);
    const auto bp = padRank(b, 0);
    const std::int64_t M = a.size(0), L = a.size(1), R = bp.size(0);
    auto out = torch::empty({M, R}, b.options());
    const float* pb = bp.data_ptr<float>();
    float* po = out.data_ptr<float>();
    const bool bf16 = a.scalar_type() == torch::kBFloat16;
    at::parallel_for(0, (M + 1) / 2, std::max<std::int64_t>(1, 2048 / std::max<std::int64_t>(1, L)),
                     [&](std::int64_t p0, std::int64_t p1) {
                         const std::int64_t m0 = 2 * p0, m1 = std::min(M, 2 * p1);
                         auto run = [&](auto* pa) {
                             switch (isa()) {
                             case Isa::V4: return rowDotsV4(pa, pb, po, m0, m1, L, R, float(scale));
                             case Isa::V3: return rowDotsV3(pa, pb, po, m0, m1, L, R, float(scale));
                             case Isa::Base: return rowDotsBase(pa, pb, po, m0, m1, L, R, float(scale));
                             }
                         };
                         bf16 ? run(elements<Bf16>(a)) : run(elements<float>(a));
                     });
    return R == b.size(0) ? out : out.narrow(1, 0, b.size(0)).contiguous();
}

torch::Tensor thinRowCombos(const torch::Tensor& c, const torch::Tensor& b, double scale, const torch::Tensor& base,
                            torch::ScalarType outType)
{
    check(c, "c", false);
    check(b, "b", false);
    const std::int64_t M = c.size(0), R = c.size(1), N = b.size(1);
    if (b.size(0) != R)
        fail("internal error: thin product: c has ", R, " columns, b ", b.size(0), " rows");
    if (base.defined()) {
        check(base, "base", true);
        if (base.size(0) != M || base.size(1) != N || base.scalar_type() != outType)
            fail("internal error: thin product: the base does not match the output");
    }
    if (outType != torch::kFloat32 && outType != torch::kBFloat16)
        fail("internal error: thin product: the output must be float32 or bf16");
    auto out = torch::empty({M, N}, c.options().dtype(outType));
    const float *pc = c.data_ptr<float>(), *pb = b.data_ptr<float>();
    at::parallel_for(0, (M + 1) / 2, std::max<std::int64_t>(1, 2048 / std::max<std::int64_t>(1, N * R / 8)),
                     [&](std::int64_t p0, std::int64_t p1) {
                         const std::int64_t m0 = 2 * p0, m1 = std::min(M, 2 * p1);
                         auto run = [&](auto* po, auto* pbase) {
                             switch (isa()) {
                             case Isa::V4: return rowCombosV4(pc, pb, pbase, po, m0, m1, N, R, float(scale));
                             case Isa::V3: return rowCombosV3(pc, pb, pbase, po, m0, m1, N, R, float(scale));
                             case Isa::Base: return rowCombosBase(pc, pb, pbase, po, m0, m1, N, R, float(scale));
                             }
                         };
                         if (outType == torch::kBFloat16)
                             run(static_cast<Bf16*>(out.data_ptr()), base.defined() ? elements<Bf16>(base) : nullptr);
                         else
                             run(out.data_ptr<float>(), base.defined() ? elements<float>(base) : nullptr);
                     });
    return out;
}

torch::Tensor thinColumnSums(const torch::Tensor& c, const torch::Tensor& a, double scale)
{
    check(c, "c", false);
    check(a, "a", true);
    const auto cp = padRank(c, 1);
    const std::int64_t M = cp.size(0), R = cp.size(1), N = a.size(1);
    if (a.size(0) != M)
        fail("internal error: thin product: c has ", M, " rows, a ", a.size(0));
    auto out = torch::empty({R, N}, c.options());
    const float* pc = cp.data_ptr<float>();
    float* po = out.data_ptr<float>();
    const bool bf16 = a.scalar_type() == torch::kBFloat16;
    // Column slices of 64: each thread owns its slice of every output row.
    constexpr std::int64_t kSlice = 64;
    at::parallel_for(0, (N + kSlice - 1) / kSlice, 1, [&](std::int64_t s0, std::int64_t s1) {
        const std::int64_t n0 = s0 * kSlice, n1 = std::min(N, s1 * kSlice);
        auto run = [&](auto* pa) {
            switch (isa()) {
            case Isa::V4: return columnSumsV4(pc, pa, po, n0, n1, M, N, R, float(scale));
            case Isa::V3: return columnSumsV3(pc, pa, po, n0, n1, M, N, R, float(scale));
            case Isa::Base: return columnSumsBase(pc, pa, po, n0, n1, M, N, R, float(scale));
            }
        };
        bf16 ? run(elements<Bf16>(a)) : run(elements<float>(a));
    });
    return R == c.size(1) ? out : out.narrow(0, 0, c.size(1)).contiguous();
}

std::vector<std::string> useThinProductsIsa(const std::string& name)
{
    std::vector<std::string> runs = {"base"};
    if (bestIsa() != Isa::Base)
        runs.push_back("v3");
    if (bestIsa() == Isa::V4)
        runs.push_back("v4");
    if (name.empty())
        g_isa = bestIsa();
    else if (std::find(runs.begin(), runs.end(), name) != runs.end())
        g_isa = name == "v4" ? Isa::V4 : name == "v3" ? Isa::V3 : Isa::Base;
    else
        fail("internal error: this CPU does not run the thin products' ", name, " entry point");
    return runs;
}

} // namespace lathe
