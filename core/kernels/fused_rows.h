// The element helpers and row kernels the fused ops share (kernels/inference_ops.cpp: norms, act * up, PEFT's
// epilogue; kernels/fused_attention.cpp: RoPE, softmax, the attention over the KV cache; kernels/bf16_gemv.cpp: the
// decode GEMV's bf16 rounding). Internal to those files.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>

#include <torch/types.h>

namespace lathe::fused {

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

enum class Kind
{
    F32,
    Bf16
};

/// The element kind of a CPU float32 or bf16 tensor while the fused ops are in force (LATHE_KERNELS fused).
std::optional<Kind> kindOf(const torch::Tensor& t);

/// Whether the inference-only ops must step aside: grad mode on, or an UnfusedOpsScope open on this thread.
bool recording();

constexpr std::int64_t kElementGrain = 32768;

/// One row of RMSNorm into float values `out` as the module's output dtype O holds them; returns the row's
/// 1 / sqrt(mean(x^2) + eps). `h` is scratch of D.
template <class X, class W, class O, bool kOffset>
LATHE_INLINE float rmsNormRow(const X* x, const W* w, float* h, float* out, std::int64_t D, float eps)
{
    widen(x, h, D);
    const float variance = dot(h, h, D) / float(D);
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

} // namespace lathe::fused
