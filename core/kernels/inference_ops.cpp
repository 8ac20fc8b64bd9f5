#include "kernels/inference_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "kernels/kernel_paths.h"

namespace lathe {

namespace {

// The entry points below are compiled for AVX-512, AVX2 and plain x86-64 (the loader picks the clone the CPU
// runs); the element-type templates are inlined into each clone. Loops over 16 independent lanes vectorize
// without reassociating float sums.
#define LATHE_FUSED_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define LATHE_INLINE inline __attribute__((always_inline))

using Bf16 = std::uint16_t; // the bits of a bf16 value
constexpr int kLanes = 16;
constexpr std::int64_t kMaxHeadDim = 1024;

LATHE_INLINE float bitsToFloat(std::uint32_t u)
{
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

LATHE_INLINE std::uint32_t floatToBits(float f)
{
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

LATHE_INLINE float load(const float* p, std::int64_t i) { return p[i]; }
LATHE_INLINE float load(const Bf16* p, std::int64_t i) { return bitsToFloat(std::uint32_t(p[i]) << 16); }

/// c10::BFloat16's conversion: round to nearest even, NaN to the quiet NaN 0x7FC0.
LATHE_INLINE Bf16 toBf16(float f)
{
    const std::uint32_t u = floatToBits(f);
    const std::uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    const std::uint32_t nan = 0u - std::uint32_t((u & 0x7FFFFFFFu) > 0x7F800000u); // all ones for NaN
    return Bf16((rounded & ~nan) | (0x7FC0u & nan)); // branch-free, so the loops around it vectorize
}

LATHE_INLINE void store(float* p, std::int64_t i, float v) { p[i] = v; }
LATHE_INLINE void store(Bf16* p, std::int64_t i, float v) { p[i] = toBf16(v); }

/// The value a tensor of element type E holds after an op returned v.
template <class E> LATHE_INLINE float rounded(float v)
{
    if constexpr (std::is_same_v<E, float>)
        return v;
    else
        return bitsToFloat(std::uint32_t(toBf16(v)) << 16);
}

/// exp in float32 (Cephes' polynomial, within 2 ulp), vectorizable; 0 below the float range, infinity above.
LATHE_INLINE float vexp(float x)
{
    const float clamped = std::min(std::max(x, -87.0f), 88.0f);
    const float n = (clamped * 1.44269504088896341f + 12582912.0f) - 12582912.0f; // round to nearest
    const float r = clamped - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const float scale = bitsToFloat(std::uint32_t(std::int32_t(n) + 127) << 23);
    const float value = x > 88.7f ? std::numeric_limits<float>::infinity() : p * scale;
    return x < -87.0f ? 0.0f : value;
}

LATHE_INLINE float sumOfSquares(const float* v, std::int64_t n)
{
    float acc[kLanes] = {};
    const std::int64_t n16 = n - n % kLanes;
    for (std::int64_t i = 0; i < n16; i += kLanes)
        for (int l = 0; l < kLanes; ++l)
            acc[l] += v[i + l] * v[i + l];
    float sum = 0;
    for (int l = 0; l < kLanes; ++l)
        sum += acc[l];
    for (std::int64_t i = n16; i < n; ++i)
        sum += v[i] * v[i];
    return sum;
}

/// Sum and maximum over 16 independent lanes (vectorizable without reassociating one running value).
LATHE_INLINE float laneSum(const float* v, std::int64_t n)
{
    float acc[kLanes] = {};
    const std::int64_t n16 = n - n % kLanes;
    for (std::int64_t i = 0; i < n16; i += kLanes)
        for (int l = 0; l < kLanes; ++l)
            acc[l] += v[i + l];
    float sum = 0;
    for (int l = 0; l < kLanes; ++l)
        sum += acc[l];
    for (std::int64_t i = n16; i < n; ++i)
        sum += v[i];
    return sum;
}

LATHE_INLINE float laneMax(const float* v, std::int64_t n)
{
    float acc[kLanes];
    for (int l = 0; l < kLanes; ++l)
        acc[l] = -std::numeric_limits<float>::infinity();
    const std::int64_t n16 = n - n % kLanes;
    for (std::int64_t i = 0; i < n16; i += kLanes)
        for (int l = 0; l < kLanes; ++l)
            acc[l] = acc[l] > v[i + l] ? acc[l] : v[i + l];
    float top = acc[0];
    for (int l = 1; l < kLanes; ++l)
        top = std::max(top, acc[l]);
    for (std::int64_t i = n16; i < n; ++i)
        top = std::max(top, v[i]);
    return top;
}

LATHE_INLINE float dot(const float* a, const float* b, std::int64_t n)
{
    float acc[kLanes] = {};
    const std::int64_t n16 = n - n % kLanes;
    for (std::int64_t i = 0; i < n16; i += kLanes)
        for (int l = 0; l < kLanes; ++l)
            acc[l] += a[i + l] * b[i + l];
    float sum = 0;
    for (int l = 0; l < kLanes; ++l)
        sum += acc[l];
    for (std::int64_t i = n16; i < n; ++i)
        sum += a[i] * b[i];
    return sum;
}

template <class E> LATHE_INLINE void widen(const E* src, float* dst, std::int64_t n)
{
    for (std::int64_t i = 0; i < n; ++i)
        dst[i] = load(src, i);
}

// ----- RMSNorm ---------------------------------------------------------------------------------------------

/// One row of RMSNorm into float values `out` as the module's output dtype O holds them; returns the row's
/// 1 / sqrt(mean(x^2) + eps). `h` is scratch of D.
template <class X, class W, class O, bool kOffset>
LATHE_INLINE float rmsNormRow(const X* x, const W* w, float* h, float* out, std::int64_t D, float eps)
{
    widen(x, h, D);
    const float variance = sumOfSquares(h, D) / float(D);
    const float r = 1.0f / std::sqrt(variance + eps);
    for (std::int64_t i = 0; i < D; ++i) {
        const float normed = h[i] * r;
        if constexpr (kOffset)
            out[i] = rounded<X>(normed * (1.0f + load(w, i)));
        else
            out[i] = rounded<O>(load(w, i) * rounded<X>(normed));
    }
    return r;
}

/// The input gradient of one row, as autograd differentiates the module's ops: the gradient reaching the
/// normalised values (rounded to X where HF's graph holds it in X), then d/dh of h * r(h) in float32.
template <class X, class W, class O, bool kOffset>
LATHE_INLINE void rmsNormBackwardRow(const X* x, const W* w, const O* g, float r, X* dx, float* h, float* dn,
                                     std::int64_t D)
{
    widen(x, h, D);
    for (std::int64_t i = 0; i < D; ++i) {
        if constexpr (kOffset)
            dn[i] = load(g, i) * (1.0f + load(w, i));
        else
            dn[i] = rounded<X>(load(g, i) * load(w, i));
    }
    const float c = r * r * r * dot(dn, h, D) / float(D);
    for (std::int64_t i = 0; i < D; ++i)
        store(dx, i, dn[i] * r - h[i] * c);
}

/// The weight gradient's sum over rows [r0, r1) into float32 `acc` [D].
template <class X, class W, class O, bool kOffset>
LATHE_INLINE void rmsNormWeightGradRows(const X* x, const O* g, const float* rstd, float* acc, std::int64_t r0,
                                        std::int64_t r1, std::int64_t D)
{
    for (std::int64_t r = r0; r < r1; ++r)
        for (std::int64_t i = 0; i < D; ++i) {
            const float normed = load(x + r * D, i) * rstd[r];
            if constexpr (kOffset)
                acc[i] += load(g + r * D, i) * normed;
            else
                acc[i] += rounded<O>(load(g + r * D, i) * rounded<X>(normed));
        }
}

struct NormRows
{
    const void* x;
    const void* w;
    void* out;   // forward: the output; backward: dx
    float* rstd; // per row
    const void* g;
    std::int64_t r0, r1, D;
    float eps;
};

template <class X, class W, class O, bool kOffset> LATHE_INLINE void rmsNormRowsT(const NormRows& a)
{
    std::vector<float> scratch(2 * a.D);
    const X* x = static_cast<const X*>(a.x);
    const W* w = static_cast<const W*>(a.w);
    for (std::int64_t r = a.r0; r < a.r1; ++r) {
        const float rs = rmsNormRow<X, W, O, kOffset>(x + r * a.D, w, scratch.data(), scratch.data() + a.D, a.D, a.eps);
        if (a.rstd)
            a.rstd[r] = rs;
        for (std::int64_t i = 0; i < a.D; ++i)
            store(static_cast<O*>(a.out) + r * a.D, i, scratch[a.D + i]);
    }
}

template <class X, class W, class O, bool kOffset> LATHE_INLINE void rmsNormBackwardRowsT(const NormRows& a)
{
    std::vector<float> scratch(2 * a.D);
    for (std::int64_t r = a.r0; r < a.r1; ++r)
        rmsNormBackwardRow<X, W, O, kOffset>(static_cast<const X*>(a.x) + r * a.D, static_cast<const W*>(a.w),
                                             static_cast<const O*>(a.g) + r * a.D, a.rstd[r],
                                             static_cast<X*>(a.out) + r * a.D, scratch.data(), scratch.data() + a.D,
                                             a.D);
}

template <class X, class W, class O, bool kOffset> LATHE_INLINE void rmsNormWeightGradT(const NormRows& a)
{
    rmsNormWeightGradRows<X, W, O, kOffset>(static_cast<const X*>(a.x), static_cast<const O*>(a.g), a.rstd,
                                            static_cast<float*>(a.out), a.r0, a.r1, a.D);
}

enum class Kind
{
    F32,
    Bf16
};

enum class NormPass
{
    Forward,
    InputGrad,
    WeightGrad
};

/// Runs `pass` for the element types of x and w (the output's is the promotion of both, or x's with the
/// offset).
#define LATHE_NORM_CASE(X, W, O, OFFSET)                                                                       \
    switch (pass) {                                                                                            \
    case NormPass::Forward: rmsNormRowsT<X, W, O, OFFSET>(a); break;                                          \
    case NormPass::InputGrad: rmsNormBackwardRowsT<X, W, O, OFFSET>(a); break;                                \
    case NormPass::WeightGrad: rmsNormWeightGradT<X, W, O, OFFSET>(a); break;                                 \
    }                                                                                                          \
    return

LATHE_FUSED_CLONES
void rmsNormPass(NormPass pass, Kind xKind, Kind wKind, bool offset, const NormRows& a)
{
    const bool xb = xKind == Kind::Bf16, wb = wKind == Kind::Bf16;
    if (offset) {
        if (xb && wb) { LATHE_NORM_CASE(Bf16, Bf16, Bf16, true); }
        if (xb) { LATHE_NORM_CASE(Bf16, float, Bf16, true); }
        if (wb) { LATHE_NORM_CASE(float, Bf16, float, true); }
        LATHE_NORM_CASE(float, float, float, true);
    }
    if (xb && wb) { LATHE_NORM_CASE(Bf16, Bf16, Bf16, false); }
    if (xb) { LATHE_NORM_CASE(Bf16, float, float, false); }
    if (wb) { LATHE_NORM_CASE(float, Bf16, float, false); }
    LATHE_NORM_CASE(float, float, float, false);
}

#undef LATHE_NORM_CASE

// ----- act(gate) * up --------------------------------------------------------------------------------------

/// sigmoid(2y) for gelu-tanh (0.5 (1 + tanh y) = sigmoid(2y): no cancellation), or sigmoid(x) for silu; the
/// activation is x times it.
template <bool kGelu> LATHE_INLINE float gateSigmoid(float x)
{
    if constexpr (kGelu) {
        const float y = 0.7978845608028654f * (x + 0.044715f * x * x * x);
        return 1.0f / (1.0f + vexp(-2.0f * y));
    } else {
        return 1.0f / (1.0f + vexp(-x));
    }
}

/// d act / dx: silu's s (1 + x (1 - s)); gelu-tanh's s + 2 x s (1 - s) k (1 + 3 c x^2) with s = sigmoid(2y).
template <bool kGelu> LATHE_INLINE float gateSlope(float x, float s)
{
    if constexpr (kGelu)
        return s + 2.0f * x * s * (1.0f - s) * 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * x * x);
    else
        return s * (1.0f + x * (1.0f - s));
}

template <class E, bool kGelu>
LATHE_INLINE void actMulT(const void* gate, const void* up, void* out, std::int64_t i0, std::int64_t i1)
{
    const E* g = static_cast<const E*>(gate);
    const E* u = static_cast<const E*>(up);
    E* o = static_cast<E*>(out);
    // In blocks: the float32 activation in one loop, the roundings in the next (GCC vectorizes each alone, not
    // the exp and the bf16 rounding together).
    constexpr std::int64_t kBlock = 256;
    float act[kBlock];
    for (std::int64_t b = i0; b < i1; b += kBlock) {
        const std::int64_t n = std::min(kBlock, i1 - b);
        for (std::int64_t i = 0; i < n; ++i) {
            const float x = load(g, b + i);
            act[i] = x * gateSigmoid<kGelu>(x);
        }
        for (std::int64_t i = 0; i < n; ++i)
            store(o, b + i, rounded<E>(act[i]) * load(u, b + i));
    }
}

/// The gradients of p = act(gate) * up (each op's result in the dtype, as autograd's graph holds them):
/// dup = dp act(gate), dgate = act'(gate) (dp up).
template <class E, bool kGelu>
LATHE_INLINE void actMulBackwardT(const void* gate, const void* up, const void* gradOut, void* dGate, void* dUp,
                                  std::int64_t i0, std::int64_t i1)
{
    const E* g = static_cast<const E*>(gate);
    const E* u = static_cast<const E*>(up);
    const E* dp = static_cast<const E*>(gradOut);
    E* dg = static_cast<E*>(dGate);
    E* du = static_cast<E*>(dUp);
    constexpr std::int64_t kBlock = 256;
    float sig[kBlock], slope[kBlock];
    for (std::int64_t b = i0; b < i1; b += kBlock) {
        const std::int64_t n = std::min(kBlock, i1 - b);
        for (std::int64_t i = 0; i < n; ++i) {
            const float x = load(g, b + i);
            sig[i] = gateSigmoid<kGelu>(x);
            slope[i] = gateSlope<kGelu>(x, sig[i]);
        }
        if (du)
            for (std::int64_t i = 0; i < n; ++i)
                store(du, b + i, load(dp, b + i) * rounded<E>(load(g, b + i) * sig[i]));
        if (dg)
            for (std::int64_t i = 0; i < n; ++i)
                store(dg, b + i, slope[i] * rounded<E>(load(dp, b + i) * load(u, b + i)));
    }
}

LATHE_FUSED_CLONES
void actMul(Kind kind, bool gelu, const void* gate, const void* up, void* out, std::int64_t i0, std::int64_t i1)
{
    if (kind == Kind::Bf16)
        gelu ? actMulT<Bf16, true>(gate, up, out, i0, i1) : actMulT<Bf16, false>(gate, up, out, i0, i1);
    else
        gelu ? actMulT<float, true>(gate, up, out, i0, i1) : actMulT<float, false>(gate, up, out, i0, i1);
}

LATHE_FUSED_CLONES
void actMulBackward(Kind kind, bool gelu, const void* gate, const void* up, const void* gradOut, void* dGate,
                    void* dUp, std::int64_t i0, std::int64_t i1)
{
    if (kind == Kind::Bf16) {
        if (gelu)
            actMulBackwardT<Bf16, true>(gate, up, gradOut, dGate, dUp, i0, i1);
        else
            actMulBackwardT<Bf16, false>(gate, up, gradOut, dGate, dUp, i0, i1);
    } else {
        if (gelu)
            actMulBackwardT<float, true>(gate, up, gradOut, dGate, dUp, i0, i1);
        else
            actMulBackwardT<float, false>(gate, up, gradOut, dGate, dUp, i0, i1);
    }
}

// ----- base + (lora * scaling).to(base dtype) -------------------------------------------------------------

template <class E>
LATHE_INLINE void scaledAddT(const void* base, const float* lora, float scaling, void* out, std::int64_t i0,
                             std::int64_t i1)
{
    const E* b = static_cast<const E*>(base);
    E* o = static_cast<E*>(out);
    for (std::int64_t i = i0; i < i1; ++i)
        store(o, i, load(b, i) + rounded<E>(lora[i] * scaling));
}

template <class E>
LATHE_INLINE void scaledGradT(const void* grad, float scaling, float* out, std::int64_t i0, std::int64_t i1)
{
    const E* g = static_cast<const E*>(grad);
    for (std::int64_t i = i0; i < i1; ++i)
        out[i] = load(g, i) * scaling;
}

LATHE_FUSED_CLONES
void scaledAdd(Kind kind, const void* base, const float* lora, float scaling, void* out, std::int64_t i0,
               std::int64_t i1)
{
    if (kind == Kind::Bf16)
        scaledAddT<Bf16>(base, lora, scaling, out, i0, i1);
    else
        scaledAddT<float>(base, lora, scaling, out, i0, i1);
}

LATHE_FUSED_CLONES
void scaledGrad(Kind kind, const void* grad, float scaling, float* out, std::int64_t i0, std::int64_t i1)
{
    if (kind == Kind::Bf16)
        scaledGradT<Bf16>(grad, scaling, out, i0, i1);
    else
        scaledGradT<float>(grad, scaling, out, i0, i1);
}

// ----- per-head RMSNorm and rotary embedding ---------------------------------------------------------------

struct RotaryShape
{
    std::int64_t B, T, H, D, rot, cosBatch;
    float eps;
    bool norm, offset, interleaved;
};

template <class E>
LATHE_INLINE void normRotaryT(const RotaryShape& s, const void* xv, const void* wv, const void* cv, const void* sv,
                              void* outv, std::int64_t r0, std::int64_t r1)
{
    const E* x = static_cast<const E*>(xv);
    const E* w = static_cast<const E*>(wv);
    const E* cs = static_cast<const E*>(cv);
    const E* sn = static_cast<const E*>(sv);
    E* out = static_cast<E*>(outv);
    float h[kMaxHeadDim], v[kMaxHeadDim], rv[kMaxHeadDim];
    const std::int64_t D = s.D, half = s.rot / 2;
    for (std::int64_t r = r0; r < r1; ++r) { // r = (b * T + t) * H + head, the input's row order
        const std::int64_t head = r % s.H, bt = r / s.H, t = bt % s.T, b = bt / s.T;
        const E* row = x + r * D;
        if (s.norm) {
            if (s.offset)
                rmsNormRow<E, E, E, true>(row, w, h, v, D, s.eps);
            else
                rmsNormRow<E, E, E, false>(row, w, h, v, D, s.eps);
        } else {
            widen(row, v, D);
        }
        const std::int64_t cosRow = ((s.cosBatch == 1 ? 0 : b) * s.T + t) * s.rot;
        E* dst = out + ((b * s.H + head) * s.T + t) * D;
        // rotate_half(x) = (-x[half:], x[:half]); GLM: (x0, x1, x2, x3, ...) -> (-x1, x0, -x3, x2, ...). Built
        // apart so that the loop below has no branch and vectorizes.
        if (s.interleaved) {
            for (std::int64_t k = 0; k < half; ++k) {
                rv[2 * k] = -v[2 * k + 1];
                rv[2 * k + 1] = v[2 * k];
            }
        } else {
            for (std::int64_t i = 0; i < half; ++i) {
                rv[i] = -v[i + half];
                rv[i + half] = v[i];
            }
        }
        for (std::int64_t i = 0; i < s.rot; ++i)
            store(dst, i, rounded<E>(v[i] * load(cs, cosRow + i)) + rounded<E>(rv[i] * load(sn, cosRow + i)));
        for (std::int64_t i = s.rot; i < D; ++i)
            store(dst, i, v[i]);
    }
}

LATHE_FUSED_CLONES
void normRotary(Kind kind, const RotaryShape& s, const void* x, const void* w, const void* c, const void* sn,
                void* out, std::int64_t r0, std::int64_t r1)
{
    if (kind == Kind::Bf16)
        normRotaryT<Bf16>(s, x, w, c, sn, out, r0, r1);
    else
        normRotaryT<float>(s, x, w, c, sn, out, r0, r1);
}

/// The input gradient of the rotation (no norm), as autograd differentiates x c + rotate(x) s: dy [B, H, T, D]
/// rows back into dx [B, T, H, D] rows, each of the two contributions rounded to the dtype, then their sum.
template <class E>
LATHE_INLINE void rotaryBackwardT(const RotaryShape& s, const void* dyv, const void* cv, const void* sv, void* dxv,
                                  std::int64_t r0, std::int64_t r1)
{
    const E* dy = static_cast<const E*>(dyv);
    const E* cs = static_cast<const E*>(cv);
    const E* sn = static_cast<const E*>(sv);
    E* dx = static_cast<E*>(dxv);
    float g[kMaxHeadDim], gs[kMaxHeadDim], fr[kMaxHeadDim];
    const std::int64_t D = s.D, half = s.rot / 2;
    for (std::int64_t r = r0; r < r1; ++r) { // r = (b * T + t) * H + head, dx's row order
        const std::int64_t head = r % s.H, bt = r / s.H, t = bt % s.T, b = bt / s.T;
        const E* src = dy + ((b * s.H + head) * s.T + t) * D;
        const std::int64_t cosRow = ((s.cosBatch == 1 ? 0 : b) * s.T + t) * s.rot;
        widen(src, g, D);
        for (std::int64_t i = 0; i < s.rot; ++i)
            gs[i] = rounded<E>(g[i] * load(sn, cosRow + i)); // the gradient reaching rotate(x)[i]
        E* dst = dx + r * D;
        // What reaches x[i] through the rotation: rotate(x)[j] = -x[j + half] (j < half), x[j - half]; GLM:
        // rotate(x)[2k] = -x[2k + 1], rotate(x)[2k + 1] = x[2k].
        if (s.interleaved) {
            for (std::int64_t k = 0; k < half; ++k) {
                fr[2 * k] = gs[2 * k + 1];
                fr[2 * k + 1] = -gs[2 * k];
            }
        } else {
            for (std::int64_t i = 0; i < half; ++i) {
                fr[i] = gs[i + half];
                fr[i + half] = -gs[i];
            }
        }
        for (std::int64_t i = 0; i < s.rot; ++i)
            store(dst, i, rounded<E>(g[i] * load(cs, cosRow + i)) + fr[i]);
        for (std::int64_t i = s.rot; i < D; ++i)
            store(dst, i, g[i]);
    }
}

LATHE_FUSED_CLONES
void rotaryBackward(Kind kind, const RotaryShape& s, const void* dy, const void* c, const void* sn, void* dx,
                    std::int64_t r0, std::int64_t r1)
{
    if (kind == Kind::Bf16)
        rotaryBackwardT<Bf16>(s, dy, c, sn, dx, r0, r1);
    else
        rotaryBackwardT<float>(s, dy, c, sn, dx, r0, r1);
}

// ----- scores * scaling + mask, softmax in float32, back to the dtype ----------------------------------------

struct SoftmaxShape
{
    std::int64_t S, T, rowsPerBatch; // rows of one batch entry: kv heads x grouped heads x T
    std::int64_t maskBatch;          // 0: no mask, 1 or B
    float scaling;
};

template <class E>
LATHE_INLINE void softmaxRowsT(const SoftmaxShape& s, const void* xv, const void* mv, void* outv, float* p32,
                               std::int64_t r0, std::int64_t r1)
{
    const E* x = static_cast<const E*>(xv);
    const E* mask = static_cast<const E*>(mv);
    E* out = static_cast<E*>(outv);
    std::vector<float> buffer(s.S);
    float* v = buffer.data();
    for (std::int64_t r = r0; r < r1; ++r) {
        const E* row = x + r * s.S;
        for (std::int64_t j = 0; j < s.S; ++j)
            v[j] = rounded<E>(load(row, j) * s.scaling);
        if (s.maskBatch) {
            const std::int64_t b = r / s.rowsPerBatch, t = r % s.T;
            const E* m = mask + ((s.maskBatch == 1 ? 0 : b) * s.T + t) * s.S;
            for (std::int64_t j = 0; j < s.S; ++j)
                v[j] = rounded<E>(v[j] + load(m, j));
        }
        const float top = laneMax(v, s.S);
        for (std::int64_t j = 0; j < s.S; ++j)
            v[j] = vexp(v[j] - top);
        const float inverse = 1.0f / laneSum(v, s.S);
        E* dst = out + r * s.S;
        for (std::int64_t j = 0; j < s.S; ++j)
            v[j] *= inverse;
        if (p32)
            std::memcpy(p32 + r * s.S, v, sizeof(float) * std::size_t(s.S));
        for (std::int64_t j = 0; j < s.S; ++j)
            store(dst, j, v[j]);
    }
}

/// The scores' gradient: the float32 softmax's (p (dp - sum dp p)), rounded to the dtype, times scaling.
template <class E>
LATHE_INLINE void softmaxBackwardRowsT(const SoftmaxShape& s, const void* dpv, const float* p32, void* dxv,
                                       std::int64_t r0, std::int64_t r1)
{
    const E* dp = static_cast<const E*>(dpv);
    E* dx = static_cast<E*>(dxv);
    std::vector<float> buffer(s.S);
    float* g = buffer.data();
    for (std::int64_t r = r0; r < r1; ++r) {
        const float* p = p32 + r * s.S;
        widen(dp + r * s.S, g, s.S);
        const float inner = dot(g, p, s.S);
        E* dst = dx + r * s.S;
        for (std::int64_t j = 0; j < s.S; ++j)
            store(dst, j, rounded<E>(p[j] * (g[j] - inner)) * s.scaling);
    }
}

LATHE_FUSED_CLONES
void softmaxRows(Kind kind, const SoftmaxShape& s, const void* x, const void* mask, void* out, float* p32,
                 std::int64_t r0, std::int64_t r1)
{
    if (kind == Kind::Bf16)
        softmaxRowsT<Bf16>(s, x, mask, out, p32, r0, r1);
    else
        softmaxRowsT<float>(s, x, mask, out, p32, r0, r1);
}

LATHE_FUSED_CLONES
void softmaxBackwardRows(Kind kind, const SoftmaxShape& s, const void* dp, const float* p32, void* dx,
                         std::int64_t r0, std::int64_t r1)
{
    if (kind == Kind::Bf16)
        softmaxBackwardRowsT<Bf16>(s, dp, p32, dx, r0, r1);
    else
        softmaxBackwardRowsT<float>(s, dp, p32, dx, r0, r1);
}

// ----- attention over the KV cache -------------------------------------------------------------------------

struct AttentionShape
{
    std::int64_t B, Hq, KV, T, S, D;
    std::int64_t kStrideB, kStrideH, vStrideB, vStrideH; // rows of D are contiguous
    std::int64_t maskBatch;                              // 0: no mask, 1 or B
    float scaling;
    float softcap; // 0: none
};

template <class E>
LATHE_INLINE void attendT(const AttentionShape& s, const void* qv, const void* kv, const void* vv, const void* mv,
                          void* outv, std::int64_t u0, std::int64_t u1)
{
    const E* q = static_cast<const E*>(qv);
    const E* keys = static_cast<const E*>(kv);
    const E* values = static_cast<const E*>(vv);
    const E* mask = static_cast<const E*>(mv);
    E* out = static_cast<E*>(outv);
    const std::int64_t G = s.Hq / s.KV, R = G * s.T, D = s.D, S = s.S;
    std::vector<float> qf(R * D), scores(R * S), acc(R * D), row(D);
    for (std::int64_t unit = u0; unit < u1; ++unit) { // unit = b * KV + kv head
        const std::int64_t b = unit / s.KV, kvHead = unit % s.KV;
        const E* kBase = keys + b * s.kStrideB + kvHead * s.kStrideH;
        const E* vBase = values + b * s.vStrideB + kvHead * s.vStrideH;
        // Query rows r = g * T + t: head kvHead * G + g at time t.
        for (std::int64_t r = 0; r < R; ++r) {
            const std::int64_t head = kvHead * G + r / s.T, t = r % s.T;
            widen(q + ((b * s.Hq + head) * s.T + t) * D, qf.data() + r * D, D);
        }
        for (std::int64_t j = 0; j < S; ++j) {
            widen(kBase + j * D, row.data(), D);
            for (std::int64_t r = 0; r < R; ++r) {
                float score = rounded<E>(rounded<E>(dot(qf.data() + r * D, row.data(), D)) * s.scaling);
                if (s.softcap != 0) // Gemma 2: tanh(scores / cap) * cap, each op in the dtype
                    score = rounded<E>(rounded<E>(std::tanh(rounded<E>(score / s.softcap))) * s.softcap);
                scores[r * S + j] = score;
            }
        }
        for (std::int64_t r = 0; r < R; ++r) {
            float* sr = scores.data() + r * S;
            if (s.maskBatch) {
                const std::int64_t t = r % s.T;
                const E* m = mask + ((s.maskBatch == 1 ? 0 : b) * s.T + t) * S;
                for (std::int64_t j = 0; j < S; ++j)
                    sr[j] = rounded<E>(sr[j] + load(m, j));
            }
            const float top = laneMax(sr, S);
            for (std::int64_t j = 0; j < S; ++j) // apart from the sum, so that it vectorizes
                sr[j] = vexp(sr[j] - top);
            const float total = laneSum(sr, S);
            const float inverse = 1.0f / total;
            for (std::int64_t j = 0; j < S; ++j)
                sr[j] = rounded<E>(sr[j] * inverse);
        }
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (std::int64_t j = 0; j < S; ++j) {
            widen(vBase + j * D, row.data(), D);
            for (std::int64_t r = 0; r < R; ++r) {
                const float p = scores[r * S + j];
                float* ar = acc.data() + r * D;
                for (std::int64_t d = 0; d < D; ++d)
                    ar[d] += p * row[d];
            }
        }
        for (std::int64_t r = 0; r < R; ++r) { // out [B, T, Hq, D]
            const std::int64_t head = kvHead * G + r / s.T, t = r % s.T;
            E* dst = out + ((b * s.T + t) * s.Hq + head) * D;
            for (std::int64_t d = 0; d < D; ++d)
                store(dst, d, acc[r * D + d]);
        }
    }
}

LATHE_FUSED_CLONES
void attend(Kind kind, const AttentionShape& s, const void* q, const void* k, const void* v, const void* m,
            void* out, std::int64_t u0, std::int64_t u1)
{
    if (kind == Kind::Bf16)
        attendT<Bf16>(s, q, k, v, m, out, u0, u1);
    else
        attendT<float>(s, q, k, v, m, out, u0, u1);
}

// ----- applicability ---------------------------------------------------------------------------------------

thread_local bool t_unfused = false;

std::optional<Kind> kindOf(const torch::Tensor& t)
{
    if (!t.defined() || !t.device().is_cpu() || !kernelPaths().fused)
        return std::nullopt;
    if (t.scalar_type() == torch::kFloat32)
        return Kind::F32;
    if (t.scalar_type() == torch::kBFloat16)
        return Kind::Bf16;
    return std::nullopt;
}

/// The inference-only ops run where grad mode is off and no UnfusedOpsScope is open: with grad mode on, a
/// forward is training's (even an op no gradient reaches, such as the first layer's norm over frozen
/// embeddings), and training runs libtorch's ops for them.
bool recording()
{
    return torch::GradMode::is_enabled() || t_unfused;
}

/// Forward passes outside training take the fused kernels only for a decode step's few rows: at a prefill's
/// hundreds, libtorch's vectorized chains were as fast or faster on the Zen 4 measured (RMSNorm of 256 x 1024:
/// 0.14 ms fused, 0.09 ms chained; norm + RoPE of q: 0.62 against 0.47; prefill 676-695 tokens/s against 736).
/// Inside a training run (an UnfusedOpsScope) every pass takes the fused kernels, so that passes with and
/// without autograd compute the same values.
bool inferenceTakes(std::int64_t rows)
{
    return t_unfused || rows <= kMaxFusedInferenceRows;
}

torch::ScalarType normOutputType(const torch::Tensor& x, const torch::Tensor& weight, bool offset)
{
    return offset ? x.scalar_type() : torch::promoteTypes(x.scalar_type(), weight.scalar_type());
}

std::int64_t normGrain(std::int64_t D)
{
    return std::max<std::int64_t>(1, 16384 / D);
}

/// The forward kernel over every row; with `rstd`, each row's 1 / sqrt(mean(x^2) + eps) kept for the backward.
torch::Tensor normForward(const torch::Tensor& x, const torch::Tensor& weight, double eps, bool offset, Kind xKind,
                          Kind wKind, torch::Tensor* rstd)
{
    auto out = torch::empty(x.sizes(), x.options().dtype(normOutputType(x, weight, offset)));
    const std::int64_t D = x.size(-1), rows = x.numel() / D;
    float* rs = nullptr;
    if (rstd) {
        *rstd = torch::empty({rows}, torch::kFloat32);
        rs = rstd->data_ptr<float>();
    }
    at::parallel_for(0, rows, normGrain(D), [&](std::int64_t r0, std::int64_t r1) {
        const NormRows a{x.data_ptr(), weight.data_ptr(), out.data_ptr(), rs, nullptr, r0, r1, D, float(eps)};
        rmsNormPass(NormPass::Forward, xKind, wKind, offset, a);
    });
    return out;
}

/// RMSNorm with its own backward: one pass each way instead of autograd's ~8 ops and their ~10 backward ops,
/// and only x and one float per row saved (autograd's chain keeps a float32 copy of x and more).
struct RmsNormFunction : public torch::autograd::Function<RmsNormFunction>
{
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                                 const torch::Tensor& weight, double eps, bool offset)
    {
        torch::Tensor rstd;
        auto out = normForward(x, weight, eps, offset, *kindOf(x), *kindOf(weight), &rstd);
        ctx->save_for_backward({x, weight, rstd});
        ctx->saved_data["offset"] = offset;
        return out;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const auto &x = saved[0], &weight = saved[1], &rstd = saved[2];
        const bool offset = ctx->saved_data["offset"].toBool();
        const auto g = grads[0].to(normOutputType(x, weight, offset)).contiguous();
        const Kind xKind = *kindOf(x), wKind = *kindOf(weight);
        const std::int64_t D = x.size(-1), rows = x.numel() / D;
        torch::Tensor dx, dw;
        if (ctx->needs_input_grad(0)) {
            dx = torch::empty_like(x);
            at::parallel_for(0, rows, normGrain(D), [&](std::int64_t r0, std::int64_t r1) {
                const NormRows a{x.data_ptr(), weight.data_ptr(), dx.data_ptr(), rstd.data_ptr<float>(), g.data_ptr(),
                                 r0, r1, D, 0.0f};
                rmsNormPass(NormPass::InputGrad, xKind, wKind, offset, a);
            });
        }
        if (ctx->needs_input_grad(1)) { // full fine-tuning: the sum over rows, in float32, then the weight's dtype
            auto acc = torch::zeros({D}, torch::kFloat32);
            const NormRows a{x.data_ptr(), weight.data_ptr(), acc.data_ptr(), rstd.data_ptr<float>(), g.data_ptr(),
                             0, rows, D, 0.0f};
            rmsNormPass(NormPass::WeightGrad, xKind, wKind, offset, a);
            dw = acc.to(weight.scalar_type());
        }
        return {dx, dw, torch::Tensor(), torch::Tensor()};
    }
};

constexpr std::int64_t kElementGrain = 32768;

torch::Tensor actMulForward(const torch::Tensor& gate, const torch::Tensor& up, bool gelu, Kind kind)
{
    auto out = torch::empty_like(gate);
    at::parallel_for(0, gate.numel(), kElementGrain, [&](std::int64_t i0, std::int64_t i1) {
        actMul(kind, gelu, gate.data_ptr(), up.data_ptr(), out.data_ptr(), i0, i1);
    });
    return out;
}

/// act(gate) * up with its own backward: one pass each way instead of act, mul and their three backward ops.
struct ActMulFunction : public torch::autograd::Function<ActMulFunction>
{
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& gate,
                                 const torch::Tensor& up, bool gelu)
    {
        ctx->save_for_backward({gate, up});
        ctx->saved_data["gelu"] = gelu;
        return actMulForward(gate, up, gelu, *kindOf(gate));
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const auto &gate = saved[0], &up = saved[1];
        const bool gelu = ctx->saved_data["gelu"].toBool();
        const auto g = grads[0].to(gate.scalar_type()).contiguous();
        torch::Tensor dGate, dUp;
        if (ctx->needs_input_grad(0))
            dGate = torch::empty_like(gate);
        if (ctx->needs_input_grad(1))
            dUp = torch::empty_like(up);
        void* dg = dGate.defined() ? dGate.data_ptr() : nullptr;
        void* du = dUp.defined() ? dUp.data_ptr() : nullptr;
        at::parallel_for(0, gate.numel(), kElementGrain, [&](std::int64_t i0, std::int64_t i1) {
            actMulBackward(*kindOf(gate), gelu, gate.data_ptr(), up.data_ptr(), g.data_ptr(), dg, du, i0, i1);
        });
        return {dGate, dUp, torch::Tensor()};
    }
};

/// base + (lora * scaling).to(base's dtype) with its own backward (the base's gradient passes through; the
/// adapter's is the gradient in float32 times scaling): one pass each way for three ops and three backward ops.
struct ScaledAddFunction : public torch::autograd::Function<ScaledAddFunction>
{
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& base,
                                 const torch::Tensor& lora, double scaling)
    {
        ctx->saved_data["scaling"] = scaling;
        auto out = torch::empty_like(base);
        const Kind kind = *kindOf(base);
        at::parallel_for(0, base.numel(), kElementGrain, [&](std::int64_t i0, std::int64_t i1) {
            scaledAdd(kind, base.data_ptr(), lora.data_ptr<float>(), float(scaling), out.data_ptr(), i0, i1);
        });
        return out;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads)
    {
        const auto g = grads[0].contiguous();
        torch::Tensor dLora;
        if (ctx->needs_input_grad(1)) {
            const auto kind = kindOf(g);
            dLora = torch::empty(g.sizes(), g.options().dtype(torch::kFloat32));
            const float scaling = float(ctx->saved_data["scaling"].toDouble());
            if (kind)
                at::parallel_for(0, g.numel(), kElementGrain, [&](std::int64_t i0, std::int64_t i1) {
                    scaledGrad(*kind, g.data_ptr(), scaling, dLora.data_ptr<float>(), i0, i1);
                });
            else
                dLora = g.to(torch::kFloat32) * scaling;
        }
        return {ctx->needs_input_grad(0) ? g : torch::Tensor(), dLora, torch::Tensor()};
    }
};

/// The rotary embedding's shape for x [B, T, H, D] and cos/sin [B or 1, T, rot], or nothing where the kernels
/// do not take it.
std::optional<RotaryShape> rotaryShape(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                       bool interleaved)
{
    const auto kind = kindOf(x);
    if (!kind || kindOf(cos) != kind || kindOf(sin) != kind || x.dim() != 4 || !x.is_contiguous() ||
        cos.dim() != 3 || !cos.is_contiguous() || !sin.is_contiguous() || cos.sizes() != sin.sizes())
        return std::nullopt;
    RotaryShape s{x.size(0), x.size(1), x.size(2), x.size(3), cos.size(2), cos.size(0), 0.0f, false, false,
                  interleaved};
    if (s.D > kMaxHeadDim || s.rot > s.D || s.rot % 2 != 0 || cos.size(1) != s.T ||
        (s.cosBatch != 1 && s.cosBatch != s.B))
        return std::nullopt;
    return s;
}

std::int64_t rotaryGrain(std::int64_t D)
{
    return std::max<std::int64_t>(1, 8192 / D);
}

/// The rotary embedding with its own backward (training): x [B, T, H, D] -> [B, H, T, D].
struct RotaryFunction : public torch::autograd::Function<RotaryFunction>
{
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                                 const torch::Tensor& cos, const torch::Tensor& sin, bool interleaved)
    {
        const RotaryShape s = *rotaryShape(x, cos, sin, interleaved);
        ctx->save_for_backward({cos, sin});
        ctx->saved_data["shape"] = std::vector<std::int64_t>{s.B, s.T, s.H, s.D};
        ctx->saved_data["interleaved"] = interleaved;
        auto out = torch::empty({s.B, s.H, s.T, s.D}, x.options());
        const Kind kind = *kindOf(x);
        at::parallel_for(0, s.B * s.T * s.H, rotaryGrain(s.D), [&](std::int64_t r0, std::int64_t r1) {
            normRotary(kind, s, x.data_ptr(), nullptr, cos.data_ptr(), sin.data_ptr(), out.data_ptr(), r0, r1);
        });
        return out;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const auto &cos = saved[0], &sin = saved[1];
        const auto shape = ctx->saved_data["shape"].toIntVector();
        const bool interleaved = ctx->saved_data["interleaved"].toBool();
        const auto dy = grads[0].to(cos.scalar_type()).contiguous();
        auto dx = torch::empty(shape, dy.options());
        const RotaryShape s = *rotaryShape(dx, cos, sin, interleaved);
        const Kind kind = *kindOf(dy);
        at::parallel_for(0, s.B * s.T * s.H, rotaryGrain(s.D), [&](std::int64_t r0, std::int64_t r1) {
            rotaryBackward(kind, s, dy.data_ptr(), cos.data_ptr(), sin.data_ptr(), dx.data_ptr(), r0, r1);
        });
        return {dx, torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

std::int64_t softmaxGrain(std::int64_t S)
{
    return std::max<std::int64_t>(1, 16384 / S);
}

/// The attention's scale, mask and softmax with their own backward (training); saves the float32 probabilities
/// as autograd's softmax does, and nothing else.
struct SoftmaxFunction : public torch::autograd::Function<SoftmaxFunction>
{
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& scores,
                                 const torch::Tensor& mask, double scaling, std::int64_t T)
    {
        const bool masked = mask.numel() > 0;
        const SoftmaxShape s{scores.size(-1), T, scores.numel() / scores.size(-1) / scores.size(0),
                             masked ? mask.size(0) : 0, float(scaling)};
        auto out = torch::empty_like(scores);
        auto p32 = torch::empty(scores.sizes(), scores.options().dtype(torch::kFloat32));
        const Kind kind = *kindOf(scores);
        const void* m = masked ? mask.data_ptr() : nullptr;
        at::parallel_for(0, scores.numel() / s.S, softmaxGrain(s.S), [&](std::int64_t r0, std::int64_t r1) {
            softmaxRows(kind, s, scores.data_ptr(), m, out.data_ptr(), p32.data_ptr<float>(), r0, r1);
        });
        ctx->save_for_backward({p32});
        ctx->saved_data["scaling"] = scaling;
        ctx->saved_data["T"] = T;
        ctx->saved_data["dtype"] = static_cast<std::int64_t>(scores.scalar_type());
        return out;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads)
    {
        const auto p32 = ctx->get_saved_variables()[0];
        const auto type = static_cast<torch::ScalarType>(ctx->saved_data["dtype"].toInt());
        const auto dp = grads[0].to(type).contiguous();
        const SoftmaxShape s{p32.size(-1), ctx->saved_data["T"].toInt(), 1, 0,
                             float(ctx->saved_data["scaling"].toDouble())};
        auto dx = torch::empty_like(dp);
        const Kind kind = *kindOf(dp);
        at::parallel_for(0, dp.numel() / s.S, softmaxGrain(s.S), [&](std::int64_t r0, std::int64_t r1) {
            softmaxBackwardRows(kind, s, dp.data_ptr(), p32.data_ptr<float>(), dx.data_ptr(), r0, r1);
        });
        return {dx, torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

} // namespace

UnfusedOpsScope::UnfusedOpsScope() : m_previous(t_unfused)
{
    t_unfused = true;
}

UnfusedOpsScope::~UnfusedOpsScope()
{
    t_unfused = m_previous;
}

torch::Tensor fusedRmsNorm(const torch::Tensor& x, const torch::Tensor& weight, double eps, bool offsetOne)
{
    const auto xKind = kindOf(x), wKind = kindOf(weight);
    if (!xKind || !wKind || !x.is_contiguous() || !weight.is_contiguous() || x.dim() < 1 || weight.dim() != 1 ||
        weight.size(0) != x.size(-1) || x.numel() == 0)
        return {};
    if (torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad()))
        return RmsNormFunction::apply(x, weight, eps, offsetOne);
    if (!inferenceTakes(x.numel() / x.size(-1)))
        return {};
    return normForward(x, weight, eps, offsetOne, *xKind, *wKind, nullptr);
}

torch::Tensor fusedActMul(const torch::Tensor& gate, const torch::Tensor& up, bool gelu)
{
    const auto kind = kindOf(gate);
    if (!kind || kindOf(up) != kind || !gate.is_contiguous() || !up.is_contiguous() || gate.sizes() != up.sizes() ||
        gate.dim() < 1)
        return {};
    if (torch::GradMode::is_enabled() && (gate.requires_grad() || up.requires_grad()))
        return ActMulFunction::apply(gate, up, gelu);
    if (!inferenceTakes(gate.numel() / gate.size(-1)))
        return {};
    return actMulForward(gate, up, gelu, *kind);
}

torch::Tensor fusedScaledAdd(const torch::Tensor& base, const torch::Tensor& lora, double scaling)
{
    const auto kind = kindOf(base);
    if (!kind || kindOf(lora) != Kind::F32 || !base.is_contiguous() || !lora.is_contiguous() ||
        base.sizes() != lora.sizes())
        return {};
    if (torch::GradMode::is_enabled() && (base.requires_grad() || lora.requires_grad()))
        return ScaledAddFunction::apply(base, lora, scaling);
    if (base.dim() < 1 || !inferenceTakes(base.numel() / std::max<std::int64_t>(1, base.size(-1))))
        return {};
    auto out = torch::empty_like(base);
    at::parallel_for(0, base.numel(), kElementGrain, [&](std::int64_t i0, std::int64_t i1) {
        scaledAdd(*kind, base.data_ptr(), lora.data_ptr<float>(), float(scaling), out.data_ptr(), i0, i1);
    });
    return out;
}

torch::Tensor fusedNormRotary(const torch::Tensor& x, const torch::Tensor& normWeight, double eps, bool offsetOne,
                              const torch::Tensor& cos, const torch::Tensor& sin, bool interleaved)
{
    const auto kind = kindOf(x);
    if (!kind || kindOf(cos) != kind || kindOf(sin) != kind || recording() || x.dim() != 4 ||
        !x.is_contiguous() || cos.dim() != 3 || !cos.is_contiguous() || !sin.is_contiguous() ||
        cos.sizes() != sin.sizes())
        return {};
    RotaryShape s{x.size(0), x.size(1), x.size(2), x.size(3), cos.size(2), cos.size(0), float(eps),
                  normWeight.defined(), offsetOne, interleaved};
    if (s.D > kMaxHeadDim || s.rot > s.D || s.rot % 2 != 0 || cos.size(1) != s.T ||
        (s.cosBatch != 1 && s.cosBatch != s.B) || s.B * s.T > kMaxFusedInferenceRows)
        return {};
    if (s.norm && (kindOf(normWeight) != kind || !normWeight.is_contiguous() || normWeight.dim() != 1 ||
                   normWeight.size(0) != s.D))
        return {};
    auto out = torch::empty({s.B, s.H, s.T, s.D}, x.options());
    const void* w = s.norm ? normWeight.data_ptr() : nullptr;
    at::parallel_for(0, s.B * s.T * s.H, std::max<std::int64_t>(1, 8192 / s.D), [&](std::int64_t r0, std::int64_t r1) {
        normRotary(*kind, s, x.data_ptr(), w, cos.data_ptr(), sin.data_ptr(), out.data_ptr(), r0, r1);
    });
    return out;
}

torch::Tensor fusedRotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin, bool interleaved)
{
    const auto s = rotaryShape(x, cos, sin, interleaved);
    if (!s)
        return {};
    if (torch::GradMode::is_enabled() && x.requires_grad())
        return RotaryFunction::apply(x, cos, sin, interleaved);
    if (!inferenceTakes(s->B * s->T))
        return {};
    auto out = torch::empty({s->B, s->H, s->T, s->D}, x.options());
    const Kind kind = *kindOf(x);
    at::parallel_for(0, s->B * s->T * s->H, rotaryGrain(s->D), [&](std::int64_t r0, std::int64_t r1) {
        normRotary(kind, *s, x.data_ptr(), nullptr, cos.data_ptr(), sin.data_ptr(), out.data_ptr(), r0, r1);
    });
    return out;
}

torch::Tensor fusedSoftmax(const torch::Tensor& scores, const torch::Tensor& mask, double scaling, std::int64_t T)
{
    const auto kind = kindOf(scores);
    if (!kind || scores.dim() != 4 || !scores.is_contiguous() || scores.numel() == 0 || T <= 0 ||
        scores.size(2) % T != 0)
        return {};
    if (mask.defined() && (kindOf(mask) != kind || !mask.is_contiguous() || mask.dim() != 4 || mask.size(1) != 1 ||
                           mask.size(2) != T || mask.size(3) != scores.size(3) ||
                           (mask.size(0) != 1 && mask.size(0) != scores.size(0))))
        return {};
    if (torch::GradMode::is_enabled() && scores.requires_grad()) // (Functions take no undefined inputs)
        return SoftmaxFunction::apply(scores, mask.defined() ? mask : torch::empty({0}, scores.options()), scaling, T);
    if (!inferenceTakes(scores.size(0) * T))
        return {};
    const SoftmaxShape s{scores.size(-1), T, scores.numel() / scores.size(-1) / scores.size(0),
                         mask.defined() ? mask.size(0) : 0, float(scaling)};
    auto out = torch::empty_like(scores);
    const void* m = mask.defined() ? mask.data_ptr() : nullptr;
    at::parallel_for(0, scores.numel() / s.S, softmaxGrain(s.S), [&](std::int64_t r0, std::int64_t r1) {
        softmaxRows(*kind, s, scores.data_ptr(), m, out.data_ptr(), nullptr, r0, r1);
    });
    return out;
}

torch::Tensor cachedAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const torch::Tensor& mask, double scaling, std::optional<double> softcap)
{
    const auto kind = kindOf(q);
    if (!kind || kindOf(k) != kind || kindOf(v) != kind || recording() || q.dim() != 4 ||
        k.dim() != 4 || v.sizes() != k.sizes() || q.size(0) != k.size(0) || q.size(3) != k.size(3) ||
        q.size(2) > kMaxCachedAttentionRows || k.size(1) == 0 || q.size(1) % k.size(1) != 0)
        return {};
    const std::int64_t D = q.size(3), S = k.size(2);
    if (S == 0 || k.stride(3) != 1 || v.stride(3) != 1 || k.stride(2) != D || v.stride(2) != D)
        return {};
    torch::Tensor m;
    if (mask.defined()) {
        if (kindOf(mask) != kind || mask.dim() != 4 || mask.size(1) != 1 || mask.size(2) != q.size(2) ||
            mask.size(3) != S || (mask.size(0) != 1 && mask.size(0) != q.size(0)))
            return {};
        m = mask.contiguous();
    }
    const auto qc = q.contiguous();
    AttentionShape s{q.size(0), q.size(1), k.size(1), q.size(2), S, D,
                     k.stride(0), k.stride(1), v.stride(0), v.stride(1),
                     m.defined() ? m.size(0) : 0, float(scaling), softcap ? float(*softcap) : 0.0f};
    auto out = torch::empty({s.B, s.T, s.Hq * D}, q.options());
    const void* maskData = m.defined() ? m.data_ptr() : nullptr;
    at::parallel_for(0, s.B * s.KV, 1, [&](std::int64_t u0, std::int64_t u1) {
        attend(*kind, s, qc.data_ptr(), k.data_ptr(), v.data_ptr(), maskData, out.data_ptr(), u0, u1);
    });
    return out;
}

} // namespace lathe
