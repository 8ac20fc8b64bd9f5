#include "export/gguf_quant.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "util/error.h"

// Bit-exactness with llama.cpp depends on every float operation rounding to float32 in source order.
#if defined(__FAST_MATH__)
#error "gguf_quant.cpp must not be compiled with -ffast-math: the quantizers must match llama.cpp bit for bit"
#endif
#if !defined(__GNUC__)
#error "gguf_quant.cpp uses GCC/Clang vector extensions (vector_size, __builtin_convertvector)"
#endif

namespace lathe {

namespace {

constexpr int kQK32 = 32;              // QK4_0 = QK4_1 = QK5_0 = QK8_0
constexpr int kQKK = 256;              // QK_K
constexpr float kGroupMaxEps = 1e-15f; // GROUP_MAX_EPS

std::uint32_t floatBits(float f)
{
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

float bitsFloat(std::uint32_t u)
{
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

void putFp16(std::uint8_t* p, float value)
{
    const std::uint16_t h = fp32ToFp16(value);
    p[0] = static_cast<std::uint8_t>(h & 0xFF);
    p[1] = static_cast<std::uint8_t>(h >> 8);
}

float getFp16(const std::uint8_t* p)
{
    return fp16ToFp32(static_cast<std::uint16_t>(p[0] | (p[1] << 8)));
}

// ggml's nearest_int: round half to even through the float adder (valid for |f| < 2^22).
int nearestInt(float f)
{
    const float v = f + 12582912.f;
    return static_cast<int>(floatBits(v) & 0x007FFFFF) - 0x00400000;
}

// roundf (half away from zero) for |f| < 2^31, in operations the compiler vectorises (truncating conversion,
// exact subtraction, compares); std::roundf is a library call per element. Same result for every such f.
inline int roundHalfAway(float f)
{
    const int t = static_cast<int>(f);
    const float r = f - static_cast<float>(t);
    return t + (r >= 0.5f) - (r <= -0.5f);
}

// ===== 32-weight blocks =====

// block_q8_0: fp16 d; int8 qs[32].
void quantizeQ8_0(const float* x, std::uint8_t* y, std::int64_t n)
{
    for (std::int64_t i = 0; i < n / kQK32; ++i, x += kQK32, y += 34) {
        float amax = 0.0f;
        for (int j = 0; j < kQK32; ++j) {
            const float a = std::fabs(x[j]);
            amax = amax > a ? amax : a; // MAX(amax, fabsf(v))
        }
        const float d = amax / ((1 << 7) - 1);
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        putFp16(y, d);
        for (int j = 0; j < kQK32; ++j)
            y[2 + j] = static_cast<std::uint8_t>(static_cast<std::int8_t>(roundHalfAway(x[j] * id)));
    }
}

// Largest |x| and its signed value; the first strictly larger one wins (sign of d in Q4_0/Q5_0).
void signedAbsMax(const float* x, int n, float& amax, float& max)
{
    amax = 0.0f;
    max = 0.0f;
    for (int j = 0; j < n; ++j) {
        const float v = x[j];
        if (amax < std::fabs(v)) {
            amax = std::fabs(v);
            max = v;
        }
    }
}

// block_q4_0: fp16 d; u8 qs[16] (q[j] | q[j+16] << 4).
void quantizeQ4_0(const float* x, std::uint8_t* y, std::int64_t n)
{
    for (std::int64_t i = 0; i < n / kQK32; ++i, x += kQK32, y += 18) {
        float amax, max;
        signedAbsMax(x, kQK32, amax, max);
        const float d = max / -8;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        putFp16(y, d);
        for (int j = 0; j < kQK32 / 2; ++j) {
            const float x0 = x[j] * id;
            const float x1 = x[kQK32 / 2 + j] * id;
            const int q0 = std::min(15, static_cast<int>(static_cast<std::int8_t>(x0 + 8.5f)));
            const int q1 = std::min(15, static_cast<int>(static_cast<std::int8_t>(x1 + 8.5f)));
            y[2 + j] = static_cast<std::uint8_t>(q0 | (q1 << 4));
        }
    }
}

// block_q4_1: fp16 d; fp16 m; u8 qs[16].
void quantizeQ4_1(const float* x, std::uint8_t* y, std::int64_t n)
{
    for (std::int64_t i = 0; i < n / kQK32; ++i, x += kQK32, y += 20) {
        float min = FLT_MAX;
        float max = -FLT_MAX;
        for (int j = 0; j < kQK32; ++j) {
            const float v = x[j];
            if (v < min)
                min = v;
            if (v > max)
                max = v;
        }
        const float d = (max - min) / ((1 << 4) - 1);
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        putFp16(y, d);
        putFp16(y + 2, min);
        for (int j = 0; j < kQK32 / 2; ++j) {
            const float x0 = (x[j] - min) * id;
            const float x1 = (x[kQK32 / 2 + j] - min) * id;
            const int q0 = std::min(15, static_cast<int>(static_cast<std::int8_t>(x0 + 0.5f)));
            const int q1 = std::min(15, static_cast<int>(static_cast<std::int8_t>(x1 + 0.5f)));
            y[4 + j] = static_cast<std::uint8_t>(q0 | (q1 << 4));
        }
    }
}

// block_q5_0: fp16 d; u8 qh[4] (bit j = bit 4 of q[j], little-endian); u8 qs[16].
void quantizeQ5_0(const float* x, std::uint8_t* y, std::int64_t n)
{
    for (std::int64_t i = 0; i < n / kQK32; ++i, x += kQK32, y += 22) {
        float amax, max;
        signedAbsMax(x, kQK32, amax, max);
        const float d = max / -16;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        putFp16(y, d);
        std::uint32_t qh = 0;
        for (int j = 0; j < kQK32 / 2; ++j) {
            const float x0 = x[j] * id;
            const float x1 = x[kQK32 / 2 + j] * id;
            const std::uint32_t q0 = static_cast<std::uint32_t>(
                std::min(31, static_cast<int>(static_cast<std::int8_t>(x0 + 16.5f))));
            const std::uint32_t q1 = static_cast<std::uint32_t>(
                std::min(31, static_cast<int>(static_cast<std::int8_t>(x1 + 16.5f))));
            y[6 + j] = static_cast<std::uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
            qh |= ((q0 & 0x10u) >> 4) << j;
            qh |= ((q1 & 0x10u) >> 4) << (j + kQK32 / 2);
        }
        for (int b = 0; b < 4; ++b)
            y[2 + b] = static_cast<std::uint8_t>(qh >> (8 * b));
    }
}

// block_q5_1: fp16 d; fp16 m; u8 qh[4]; u8 qs[16].
void quantizeQ5_1(const float* x, std::uint8_t* y, std::int64_t n)
{
    for (std::int64_t i = 0; i < n / kQK32; ++i, x += kQK32, y += 24) {
        float min = FLT_MAX;
        float max = -FLT_MAX;
        for (int j = 0; j < kQK32; ++j) {
            const float v = x[j];
            if (v < min)
                min = v;
            if (v > max)
                max = v;
        }
        const float d = (max - min) / ((1 << 5) - 1);
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        putFp16(y, d);
        putFp16(y + 2, min);
        std::uint32_t qh = 0;
        for (int j = 0; j < kQK32 / 2; ++j) {
            const float x0 = (x[j] - min) * id;
            const float x1 = (x[kQK32 / 2 + j] - min) * id;
            const std::uint32_t q0 = static_cast<std::uint8_t>(x0 + 0.5f);
            const std::uint32_t q1 = static_cast<std::uint8_t>(x1 + 0.5f);
            y[8 + j] = static_cast<std::uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
            qh |= ((q0 & 0x10u) >> 4) << j;
            qh |= ((q1 & 0x10u) >> 4) << (j + kQK32 / 2);
        }
        for (int b = 0; b < 4; ++b)
            y[4 + b] = static_cast<std::uint8_t>(qh >> (8 * b));
    }
}

// ===== K-quant solvers =====
//
// The solvers run four sub-blocks of a 256-weight super-block side by side, one SIMD lane per sub-block
// (GCC/Clang vector extensions, one SSE2 register on baseline x86-64): lane k of x[i] is element i of the k-th
// sub-block. Every lane performs exactly llama.cpp's scalar operations in their order (each lane's sums are
// still accumulated element by element) and each data-dependent branch becomes a per-lane select, so the
// bytes are those of the scalar code run once per sub-block. The solvers are latency-bound chains of float
// adds; running four independent chains at once makes Q4_K/Q5_K/Q6_K about three times faster.
// (Wider generic vectors do not help without AVX: GCC splits what SSE2 lacks, 32-bit integer min/max, lane by
// lane through memory.)

typedef float F4 __attribute__((vector_size(16)));
typedef std::int32_t I4 __attribute__((vector_size(16))); // lane masks are -1 (true) / 0
constexpr int kLanes = 4;

// nearestInt, lane by lane.
template <typename I, typename F> inline I nearestIntLanes(F f)
{
    const F v = f + 12582912.f;
    return ((I)v & 0x007FFFFF) - 0x00400000;
}

// mask ? a : b per lane, mask lanes being -1 or 0. Spelled as bit operations because GCC lowers a vector `?:`
// wider than the target's registers lane by lane, through memory.
template <typename I> inline I pick(I mask, I a, I b)
{
    return (a & mask) | (b & ~mask);
}

template <typename I, typename F> inline F pick(I mask, F a, F b)
{
    return (F)pick(mask, (I)a, (I)b);
}

template <typename I> inline I clampLanes(I l, int lo, int hi)
{
    const I loV = I{} + lo, hiV = I{} + hi;
    l = pick(l > hiV, hiV, l); // MIN(hi, l) first, then MAX(lo, .), as in ggml
    return pick(l < loV, loV, l);
}

// make_qkx2_quants(n = 32, nmax, x, weights, L, &the_min, Laux, rmin, rdelta, nstep, use_mad = false) for 4
// of the 8 sub-blocks of a Q4_K / Q5_K super-block: levels L in [0, nmax] and a (scale, min) pair minimising
// the weighted squared error, searched over nstep+1 candidate scales. theMin receives -min (>= 0).
void makeQkx2QuantsLanes(const F4 x[32], const F4 w[32], int nmax, float rmin, float rdelta, int nstep,
                         I4 L[32], F4& scaleOut, F4& theMin)
{
    const F4 zero = F4{};
    F4 min = x[0], max = x[0];
    F4 sumW = w[0];
    F4 sumX = sumW * x[0];
    for (int i = 1; i < 32; ++i) {
        min = pick(x[i] < min, x[i], min);
        max = pick(x[i] > max, x[i], max);
        sumW += w[i];
        sumX += w[i] * x[i];
    }
    min = pick(min > zero, zero, min);
    const I4 flat = max == min; // the scalar code returns early: levels 0, scale 0
    F4 iscale = static_cast<float>(nmax) / (max - min);
    F4 scale = 1.0f / iscale;
    F4 bestError = zero;
    for (int i = 0; i < 32; ++i) {
        L[i] = clampLanes(nearestIntLanes<I4>(iscale * (x[i] - min)), 0, nmax);
        F4 diff = scale * __builtin_convertvector(L[i], F4) + min - x[i];
        diff = diff * diff;
        bestError += w[i] * diff;
    }
    // The candidate scales divide by (max - min) with the *current* min, which a better candidate replaces.
    I4 Laux[32];
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        F4 sumL = zero, sumL2 = zero, sumXL = zero;
        for (int i = 0; i < 32; ++i) {
            Laux[i] = clampLanes(nearestIntLanes<I4>(iscale * (x[i] - min)), 0, nmax);
            const F4 l = __builtin_convertvector(Laux[i], F4);
            sumL += w[i] * l;
            sumL2 += w[i] * l * l;
            sumXL += w[i] * l * x[i];
        }
        const F4 D = sumW * sumL2 - sumL * sumL;
        F4 thisScale = (sumW * sumXL - sumX * sumL) / D;
        F4 thisMin = (sumL2 * sumX - sumL * sumXL) / D;
        const I4 minPositive = thisMin > zero;
        thisScale = pick(minPositive, sumXL / sumL2, thisScale);
        thisMin = pick(minPositive, zero, thisMin);
        F4 curError = zero;
        for (int i = 0; i < 32; ++i) {
            F4 diff = thisScale * __builtin_convertvector(Laux[i], F4) + thisMin - x[i];
            diff = diff * diff;
            curError += w[i] * diff;
        }
        // The scalar code's `if (D > 0) { ...; if (cur_error < best_error) { take it } }`.
        const I4 better = ~flat & (D > zero) & (curError < bestError);
        bestError = pick(better, curError, bestError);
        scale = pick(better, thisScale, scale);
        min = pick(better, thisMin, min);
        for (int i = 0; i < 32; ++i)
            L[i] = pick(better, Laux[i], L[i]);
    }
    scaleOut = pick(flat, zero, scale);
    theMin = -min;
    for (int i = 0; i < 32; ++i)
        L[i] = pick(flat, I4{}, L[i]);
}

// make_qx_quants(n = 16, nmax, x, L, rmse_type = 1, qw = NULL) for 4 of the 16 sub-blocks of a Q6_K
// super-block: symmetric levels L in [0, 2*nmax) around nmax, weights w = x^2; tries 19 scales and keeps the
// best weighted least-squares fit. All-zero sub-blocks (max |x| < 1e-15) get levels 0 and scale 0.
void makeQxQuantsLanes(const F4 x[16], int nmax, I4 L[16], F4& scaleOut)
{
    const F4 zero = F4{};
    F4 max = zero, amax = zero;
    for (int i = 0; i < 16; ++i) {
        const F4 ax = (F4)((I4)x[i] & 0x7FFFFFFF);
        const I4 larger = ax > amax; // the first strictly larger |x| wins
        amax = pick(larger, ax, amax);
        max = pick(larger, x[i], max);
    }
    const I4 allZero = amax < (zero + kGroupMaxEps);
    F4 iscale = static_cast<float>(-nmax) / max;
    F4 sumlx = zero, suml2 = zero;
    for (int i = 0; i < 16; ++i) {
        const I4 l = clampLanes(nearestIntLanes<I4>(iscale * x[i]), -nmax, nmax - 1);
        L[i] = l + nmax;
        const F4 lf = __builtin_convertvector(l, F4);
        const F4 w = x[i] * x[i];
        sumlx += w * x[i] * lf;
        suml2 += w * lf * lf;
    }
    F4 scale = pick(suml2 != zero, sumlx / suml2, zero);
    F4 best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0)
            continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = zero;
        I4 Laux[16];
        for (int i = 0; i < 16; ++i) {
            const I4 l = clampLanes(nearestIntLanes<I4>(iscale * x[i]), -nmax, nmax - 1);
            Laux[i] = l + nmax;
            const F4 lf = __builtin_convertvector(l, F4);
            const F4 w = x[i] * x[i];
            sumlx += w * x[i] * lf;
            suml2 += w * lf * lf;
        }
        const I4 better = (suml2 > zero) & (sumlx * sumlx > best * suml2);
        scale = pick(better, sumlx / suml2, scale);
        best = pick(better, scale * sumlx, best);
        for (int i = 0; i < 16; ++i)
            L[i] = pick(better, Laux[i], L[i]);
    }
    scaleOut = pick(allZero, zero, scale);
    for (int i = 0; i < 16; ++i)
        L[i] = pick(allZero, I4{}, L[i]);
}

// get_scale_min_k4: 6-bit scale and min of sub-block j from the 12 packed bytes.
void scaleMinK4(int j, const std::uint8_t* q, std::uint8_t* d, std::uint8_t* m)
{
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = static_cast<std::uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = static_cast<std::uint8_t>((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}

// The shared Q4_K / Q5_K scheme: per 32-weight sub-block a make_qkx2_quants fit, then 6-bit scales and mins
// relative to fp16 super-scales d and dmin, then levels recomputed from the rounded scales. Fills `scales12`,
// writes d/dmin into `dm4` and the levels into L.
void kQuantSuperBlock(const float* x, int nmax, float rmin, float rdelta, int nstep, std::uint8_t* dm4,
                      std::uint8_t* scales12, std::uint8_t* L)
{
    float scales[8], mins[8];
    for (int g = 0; g < 8; g += kLanes) {
        // Sub-blocks g .. g+3. Weights: av_x + |x| with av_x = sqrt(mean x^2), the sum taken in element
        // order.
        F4 xs[32], ws[32];
        for (int i = 0; i < 32; ++i)
            for (int k = 0; k < kLanes; ++k)
                xs[i][k] = x[32 * (g + k) + i];
        F4 sumX2 = F4{};
        for (int i = 0; i < 32; ++i)
            sumX2 += xs[i] * xs[i];
        F4 avX;
        for (int k = 0; k < kLanes; ++k)
            avX[k] = std::sqrt(sumX2[k] / 32);
        for (int i = 0; i < 32; ++i)
            ws[i] = avX + (F4)((I4)xs[i] & 0x7FFFFFFF);
        I4 Ls[32];
        F4 scaleLanes, minLanes;
        makeQkx2QuantsLanes(xs, ws, nmax, rmin, rdelta, nstep, Ls, scaleLanes, minLanes);
        for (int k = 0; k < kLanes; ++k) {
            scales[g + k] = scaleLanes[k];
            mins[g + k] = minLanes[k];
            for (int i = 0; i < 32; ++i)
                L[32 * (g + k) + i] = static_cast<std::uint8_t>(Ls[i][k]);
        }
    }

    float maxScale = 0; // the min is subtracted, so scales are never negative
    float maxMin = 0;
    for (int j = 0; j < 8; ++j) {
        if (scales[j] > maxScale)
            maxScale = scales[j];
        if (mins[j] > maxMin)
            maxMin = mins[j];
    }

    const float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
    const float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
    for (int j = 0; j < kQKK / 32; ++j) {
        std::uint8_t ls = static_cast<std::uint8_t>(nearestInt(invScale * scales[j]));
        std::uint8_t lm = static_cast<std::uint8_t>(nearestInt(invMin * mins[j]));
        ls = std::min<std::uint8_t>(63, ls);
        lm = std::min<std::uint8_t>(63, lm);
        if (j < 4) {
            scales12[j] = ls;
            scales12[j + 4] = lm;
        } else {
            scales12[j + 4] = static_cast<std::uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
            scales12[j - 4] |= static_cast<std::uint8_t>((ls >> 4) << 6);
            scales12[j - 0] |= static_cast<std::uint8_t>((lm >> 4) << 6);
        }
    }
    putFp16(dm4, maxScale / 63.f);
    putFp16(dm4 + 2, maxMin / 63.f);

    const float d = getFp16(dm4);
    const float dmin = getFp16(dm4 + 2);
    for (int j = 0; j < kQKK / 32; ++j) {
        std::uint8_t sc, m;
        scaleMinK4(j, scales12, &sc, &m);
        const float dd = d * sc;
        if (dd == 0.0f)
            continue; // keep the solver's levels
        const float dm = dmin * m;
        for (int ii = 0; ii < 32; ++ii) {
            const int l = nearestInt((x[32 * j + ii] + dm) / dd);
            L[32 * j + ii] = static_cast<std::uint8_t>(std::max(0, std::min(nmax, l)));
        }
    }
}

// block_q4_K: fp16 d; fp16 dmin; u8 scales[12]; u8 qs[128] (qs[32c+l] = q[64c+l] | q[64c+32+l] << 4).
void quantizeQ4_K(const float* x, std::uint8_t* y, std::int64_t n)
{
    std::uint8_t L[kQKK];
    for (std::int64_t i = 0; i < n / kQKK; ++i, x += kQKK, y += 144) {
        std::uint8_t* scales12 = y + 4;
        std::memset(scales12, 0, 12);
        kQuantSuperBlock(x, 15, -1.f, 0.1f, 20, y, scales12, L);
        std::uint8_t* q = y + 16;
        for (int j = 0; j < kQKK; j += 64, q += 32)
            for (int l = 0; l < 32; ++l)
                q[l] = static_cast<std::uint8_t>(L[j + l] | (L[j + l + 32] << 4));
    }
}

// block_q5_K: fp16 d; fp16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128].
void quantizeQ5_K(const float* x, std::uint8_t* y, std::int64_t n)
{
    std::uint8_t L[kQKK];
    for (std::int64_t i = 0; i < n / kQKK; ++i, x += kQKK, y += 176) {
        std::uint8_t* scales12 = y + 4;
        std::memset(scales12, 0, 12);
        kQuantSuperBlock(x, 31, -0.5f, 0.1f, 15, y, scales12, L);
        std::uint8_t* qh = y + 16;
        std::uint8_t* ql = y + 48;
        std::memset(qh, 0, kQKK / 8);
        std::uint8_t m1 = 1, m2 = 2;
        for (int base = 0; base < kQKK; base += 64, ql += 32) {
            for (int j = 0; j < 32; ++j) {
                int l1 = L[base + j];
                if (l1 > 15) {
                    l1 -= 16;
                    qh[j] |= m1;
                }
                int l2 = L[base + j + 32];
                if (l2 > 15) {
                    l2 -= 16;
                    qh[j] |= m2;
                }
                ql[j] = static_cast<std::uint8_t>(l1 | (l2 << 4));
            }
            m1 = static_cast<std::uint8_t>(m1 << 2);
            m2 = static_cast<std::uint8_t>(m2 << 2);
        }
    }
}

// block_q6_K: u8 ql[128]; u8 qh[64]; int8 scales[16]; fp16 d (last).
void quantizeQ6_K(const float* x, std::uint8_t* y, std::int64_t n)
{
    std::int8_t L[kQKK];
    float scales[kQKK / 16];
    for (std::int64_t i = 0; i < n / kQKK; ++i, x += kQKK, y += 210) {
        for (int g = 0; g < 16; g += kLanes) {
            F4 xs[16];
            for (int e = 0; e < 16; ++e)
                for (int k = 0; k < kLanes; ++k)
                    xs[e][k] = x[16 * (g + k) + e];
            I4 Ls[16];
            F4 scaleLanes;
            makeQxQuantsLanes(xs, 32, Ls, scaleLanes);
            for (int k = 0; k < kLanes; ++k) {
                scales[g + k] = scaleLanes[k];
                for (int e = 0; e < 16; ++e)
                    L[16 * (g + k) + e] = static_cast<std::int8_t>(Ls[e][k]);
            }
        }
        float maxScale = 0;
        float maxAbsScale = 0;
        for (int ib = 0; ib < kQKK / 16; ++ib) {
            const float scale = scales[ib];
            const float absScale = std::fabs(scale);
            if (absScale > maxAbsScale) {
                maxAbsScale = absScale;
                maxScale = scale;
            }
        }
        if (maxAbsScale < kGroupMaxEps) {
            std::memset(y, 0, 210);
            putFp16(y + 208, 0.f);
            continue;
        }
        std::uint8_t* ql = y;
        std::uint8_t* qh = y + 128;
        std::uint8_t* sc = y + 192;
        const float iscale = -128.f / maxScale;
        putFp16(y + 208, 1 / iscale);
        for (int ib = 0; ib < kQKK / 16; ++ib)
            sc[ib] = static_cast<std::uint8_t>(
                static_cast<std::int8_t>(std::min(127, nearestInt(iscale * scales[ib]))));
        const float d = getFp16(y + 208);
        for (int j = 0; j < kQKK / 16; ++j) {
            const float dd = d * static_cast<std::int8_t>(sc[j]);
            if (dd == 0.0f)
                continue; // keep the solver's levels
            for (int ii = 0; ii < 16; ++ii) {
                int l = nearestInt(x[16 * j + ii] / dd);
                l = std::max(-32, std::min(31, l));
                L[16 * j + ii] = static_cast<std::int8_t>(l + 32);
            }
        }
        for (int j = 0; j < kQKK; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; ++l) {
                const int q1 = L[j + l + 0] & 0xF;
                const int q2 = L[j + l + 32] & 0xF;
                const int q3 = L[j + l + 64] & 0xF;
                const int q4 = L[j + l + 96] & 0xF;
                ql[l + 0] = static_cast<std::uint8_t>(q1 | (q3 << 4));
                ql[l + 32] = static_cast<std::uint8_t>(q2 | (q4 << 4));
                qh[l] = static_cast<std::uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
                                                  ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
            }
        }
    }
}

// ===== dequantizers (ggml's dequantize_row_*) =====

void dequantizeQ8_0(const std::uint8_t* x, float* y, std::int64_t n)
{
    for (std::int64_t i = 0; i < n / kQK32; ++i, x += 34, y += kQK32) {
        const float d = getFp16(x);
        for (int j = 0; j < kQK32; ++j)
            y[j] = static_cast<std::int8_t>(x[2 + j]) * d;
    }
}

void dequantizeQ4_0(const std::uint8_t* x, float* y, std::int64_t n)
{
    for (std::int64_t i = 0; i < n / kQK32; ++i, x += 18, y += kQK32) {
        const float d = getFp16(x);
        for (int j = 0; j < kQK32 / 2; ++j) {
            y[j] = ((x[2 + j] & 0x0F) - 8) * d;
            y[j + kQK32 / 2] = ((x[2 + j] >> 4) - 8) * d;
        }
    }
}

void dequantizeQ4_1(const std::uint8_t* x, float* y, std::int64_t n)
{
    for (std::int64_t i = 0; i < n / kQK32; ++i, x += 20, y += kQK32) {
        const float d = getFp16(x);
        const float m = getFp16(x + 2);
        for (int j = 0; j < kQK32 / 2; ++j) {
            y[j] = (x[4 + j] & 0x0F) * d + m;
            y[j + kQK32 / 2] = (x[4 + j] >> 4) * d + m;
        }
    }
}

void dequantizeQ5_0(const std::uint8_t* x, float* y, std::int64_t n)
{
    for (std::int64_t i = 0; i < n / kQK32; ++i, x += 22, y += kQK32) {
        const float d = getFp16(x);
        const std::uint32_t qh = static_cast<std::uint32_t>(x[2]) | (static_cast<std::uint32_t>(x[3]) << 8) |
                                 (static_cast<std::uint32_t>(x[4]) << 16) |
                                 (static_cast<std::uint32_t>(x[5]) << 24);
        for (int j = 0; j < kQK32 / 2; ++j) {
            const int h0 = static_cast<int>(((qh >> j) << 4) & 0x10);
            const int h1 = static_cast<int>((qh >> (j + 12)) & 0x10);
            y[j] = (((x[6 + j] & 0x0F) | h0) - 16) * d;
            y[j + kQK32 / 2] = (((x[6 + j] >> 4) | h1) - 16) * d;
        }
    }
}

void dequantizeQ5_1(const std::uint8_t* x, float* y, std::int64_t n)
{
    for (std::int64_t i = 0; i < n / kQK32; ++i, x += 24, y += kQK32) {
        const float d = getFp16(x);
        const float m = getFp16(x + 2);
        const std::uint32_t qh = static_cast<std::uint32_t>(x[4]) | (static_cast<std::uint32_t>(x[5]) << 8) |
                                 (static_cast<std::uint32_t>(x[6]) << 16) |
                                 (static_cast<std::uint32_t>(x[7]) << 24);
        for (int j = 0; j < kQK32 / 2; ++j) {
            const int h0 = static_cast<int>(((qh >> j) << 4) & 0x10);
            const int h1 = static_cast<int>((qh >> (j + 12)) & 0x10);
            y[j] = ((x[8 + j] & 0x0F) | h0) * d + m;
            y[j + kQK32 / 2] = ((x[8 + j] >> 4) | h1) * d + m;
        }
    }
}

void dequantizeQ4_K(const std::uint8_t* x, float* y, std::int64_t n)
{
    for (std::int64_t i = 0; i < n / kQKK; ++i, x += 144) {
        const float d = getFp16(x);
        const float min = getFp16(x + 2);
        const std::uint8_t* q = x + 16;
        for (int j = 0, is = 0; j < kQKK; j += 64, q += 32, is += 2) {
            std::uint8_t sc, m;
            scaleMinK4(is + 0, x + 4, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            scaleMinK4(is + 1, x + 4, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; ++l)
                *y++ = d1 * (q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l)
                *y++ = d2 * (q[l] >> 4) - m2;
        }
    }
}

void dequantizeQ5_K(const std::uint8_t* x, float* y, std::int64_t n)
{
    for (std::int64_t i = 0; i < n / kQKK; ++i, x += 176) {
        const float d = getFp16(x);
        const float min = getFp16(x + 2);
        const std::uint8_t* qh = x + 16;
        const std::uint8_t* ql = x + 48;
        std::uint8_t u1 = 1, u2 = 2;
        for (int j = 0, is = 0; j < kQKK; j += 64, ql += 32, is += 2) {
            std::uint8_t sc, m;
            scaleMinK4(is + 0, x + 4, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            scaleMinK4(is + 1, x + 4, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; ++l)
                *y++ = d1 * ((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l)
                *y++ = d2 * ((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
            u1 = static_cast<std::uint8_t>(u1 << 2);
            u2 = static_cast<std::uint8_t>(u2 << 2);
        }
    }
}

void dequantizeQ6_K(const std::uint8_t* x, float* y, std::int64_t n)
{
    for (std::int64_t i = 0; i < n / kQKK; ++i, x += 210) {
        const float d = getFp16(x + 208);
        const std::uint8_t* ql = x;
        const std::uint8_t* qh = x + 128;
        const std::int8_t* sc = reinterpret_cast<const std::int8_t*>(x + 192);
        for (int base = 0; base < kQKK; base += 128, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l + 0] = d * sc[is + 0] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

void checkRow(GgmlType type, std::int64_t n, const char* what)
{
    const std::int64_t block = ggmlBlockSize(type);
    if (n <= 0 || n % block != 0)
        fail(what, ": a row of ", n, " elements cannot be stored as ", ggmlTypeName(type),
             " (needs a multiple of ", block, ")");
}

void quantizeRowUnchecked(GgmlType type, const float* src, std::uint8_t* dst, std::int64_t n)
{
    switch (type) {
    case GgmlType::F32: std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float)); return;
    case GgmlType::F16:
        for (std::int64_t i = 0; i < n; ++i) {
            const std::uint16_t h = fp32ToFp16(src[i]);
            dst[2 * i] = static_cast<std::uint8_t>(h & 0xFF);
            dst[2 * i + 1] = static_cast<std::uint8_t>(h >> 8);
        }
        return;
    case GgmlType::BF16:
        for (std::int64_t i = 0; i < n; ++i) {
            const std::uint16_t h = fp32ToBf16(src[i]);
            dst[2 * i] = static_cast<std::uint8_t>(h & 0xFF);
            dst[2 * i + 1] = static_cast<std::uint8_t>(h >> 8);
        }
        return;
    case GgmlType::Q4_0: quantizeQ4_0(src, dst, n); return;
    case GgmlType::Q4_1: quantizeQ4_1(src, dst, n); return;
    case GgmlType::Q5_0: quantizeQ5_0(src, dst, n); return;
    case GgmlType::Q5_1: quantizeQ5_1(src, dst, n); return;
    case GgmlType::Q8_0: quantizeQ8_0(src, dst, n); return;
    case GgmlType::Q4_K: quantizeQ4_K(src, dst, n); return;
    case GgmlType::Q5_K: quantizeQ5_K(src, dst, n); return;
    case GgmlType::Q6_K: quantizeQ6_K(src, dst, n); return;
    }
}

} // namespace

// ===== scalar conversions =====

std::uint16_t fp32ToFp16(float value)
{
    const std::uint32_t u = floatBits(value);
    const std::uint16_t sign = static_cast<std::uint16_t>((u >> 16) & 0x8000);
    const std::uint32_t a = u & 0x7FFFFFFF;
    if (a > 0x7F800000)
        return static_cast<std::uint16_t>(sign | 0x7E00); // NaN
    if (a >= 0x47800000)
        return static_cast<std::uint16_t>(sign | 0x7C00); // >= 2^16 (or inf): past the largest finite fp16
    if (a >= 0x38800000) {
        // Normal fp16 (>= 2^-14): rebias the exponent, round the 13 dropped mantissa bits to nearest even. A
        // carry out of the mantissa bumps the exponent, up to infinity for values >= 65520.
        std::uint32_t h = ((a >> 23) - 112) << 10 | ((a & 0x7FFFFF) >> 13);
        const std::uint32_t rest = a & 0x1FFF;
        if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
            ++h;
        return static_cast<std::uint16_t>(sign | h);
    }
    if (a <= 0x33000000)
        return sign; // <= 2^-25: rounds to (signed) zero, the tie at 2^-25 going to the even 0
    // Subnormal fp16: the value in units of 2^-24 is mant * 2^(exp - 126), exp in [102, 112].
    const std::uint32_t exp = a >> 23;
    const std::uint32_t mant = (a & 0x7FFFFF) | 0x800000;
    const std::uint32_t shift = 126 - exp; // 14..24
    std::uint32_t h = mant >> shift;
    const std::uint32_t rest = mant & ((1u << shift) - 1);
    const std::uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (h & 1)))
        ++h; // may become 0x400, the smallest normal, which is the right encoding
    return static_cast<std::uint16_t>(sign | h);
}

float fp16ToFp32(std::uint16_t bits)
{
    const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000) << 16;
    const std::uint32_t exp = (bits >> 10) & 0x1F;
    const std::uint32_t mant = bits & 0x3FF;
    if (exp == 0x1F)
        return bitsFloat(sign | 0x7F800000 | (mant << 13));
    if (exp != 0)
        return bitsFloat(sign | ((exp + 112) << 23) | (mant << 13));
    // Zero or subnormal: mant * 2^-24 is exact in float32.
    const float magnitude = static_cast<float>(mant) * 5.9604644775390625e-8f;
    return sign ? -magnitude : magnitude;
}

std::uint16_t fp32ToBf16(float value)
{
    const std::uint32_t u = floatBits(value);
    if ((u & 0x7FFFFFFF) > 0x7F800000)
        return static_cast<std::uint16_t>((u >> 16) | 64); // NaN: keep it a (quiet) NaN
    return static_cast<std::uint16_t>((u + (0x7FFF + ((u >> 16) & 1))) >> 16);
}

float bf16ToFp32(std::uint16_t bits)
{
    return bitsFloat(static_cast<std::uint32_t>(bits) << 16);
}

// ===== rows =====

void quantizeRow(GgmlType type, const float* src, void* dst, std::int64_t n)
{
    checkRow(type, n, "quantizeRow");
    quantizeRowUnchecked(type, src, static_cast<std::uint8_t*>(dst), n);
}

namespace {

// Runs work(begin, end) over contiguous, near-equal chunks of `rows` rows on up to `threads` threads (the
// calling thread takes the first chunk).
template <typename Work>
void parallelRows(std::int64_t rows, std::int64_t cols, int threads, const Work& work)
{
    // Starting a thread costs tens of microseconds: below ~64k elements per thread it does not pay.
    constexpr std::int64_t kMinElementsPerThread = 1 << 16;
    std::int64_t n = std::max(1, threads);
    n = std::min(n, rows);
    n = std::min(n, std::max<std::int64_t>(1, rows * cols / kMinElementsPerThread));
    if (n == 1) {
        work(0, rows);
        return;
    }
    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(n - 1));
    auto chunkBegin = [&](std::int64_t t) { return rows * t / n; };
    try {
        for (std::int64_t t = 1; t < n; ++t)
            pool.emplace_back(work, chunkBegin(t), chunkBegin(t + 1));
    } catch (...) {
        for (auto& th : pool)
            th.join();
        throw;
    }
    work(0, chunkBegin(1));
    for (auto& th : pool)
        th.join();
}

} // namespace

void quantizeRows(GgmlType type, const float* src, void* dst, std::int64_t rows, std::int64_t cols,
                  int threads)
{
    checkRow(type, cols, "quantizeRows");
    if (rows <= 0)
        return;
    const std::size_t rowBytes = ggmlRowSize(type, cols);
    auto* out = static_cast<std::uint8_t*>(dst);
    parallelRows(rows, cols, threads, [=](std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r)
            quantizeRowUnchecked(type, src + r * cols, out + static_cast<std::size_t>(r) * rowBytes, cols);
    });
}

void quantizeRowsBf16(GgmlType type, const std::uint16_t* src, void* dst, std::int64_t rows, std::int64_t cols,
                      int threads)
{
    checkRow(type, cols, "quantizeRowsBf16");
    if (rows <= 0)
        return;
    const std::size_t rowBytes = ggmlRowSize(type, cols);
    auto* out = static_cast<std::uint8_t*>(dst);
    parallelRows(rows, cols, threads, [=](std::int64_t begin, std::int64_t end) {
        std::vector<float> row(static_cast<std::size_t>(cols));
        for (std::int64_t r = begin; r < end; ++r) {
            const std::uint16_t* in = src + r * cols;
            for (std::int64_t j = 0; j < cols; ++j) // bfloat16 is the top half of a float32
                row[static_cast<std::size_t>(j)] = bitsFloat(static_cast<std::uint32_t>(in[j]) << 16);
            quantizeRowUnchecked(type, row.data(), out + static_cast<std::size_t>(r) * rowBytes, cols);
        }
    });
}

void dequantizeRow(GgmlType type, const void* src, float* dst, std::int64_t n)
{
    checkRow(type, n, "dequantizeRow");
    const auto* x = static_cast<const std::uint8_t*>(src);
    switch (type) {
    case GgmlType::F32: std::memcpy(dst, x, static_cast<std::size_t>(n) * sizeof(float)); return;
    case GgmlType::F16:
        for (std::int64_t i = 0; i < n; ++i)
            dst[i] = fp16ToFp32(static_cast<std::uint16_t>(x[2 * i] | (x[2 * i + 1] << 8)));
        return;
    case GgmlType::BF16:
        for (std::int64_t i = 0; i < n; ++i)
            dst[i] = bf16ToFp32(static_cast<std::uint16_t>(x[2 * i] | (x[2 * i + 1] << 8)));
        return;
    case GgmlType::Q4_0: dequantizeQ4_0(x, dst, n); return;
    case GgmlType::Q4_1: dequantizeQ4_1(x, dst, n); return;
    case GgmlType::Q5_0: dequantizeQ5_0(x, dst, n); return;
    case GgmlType::Q5_1: dequantizeQ5_1(x, dst, n); return;
    case GgmlType::Q8_0: dequantizeQ8_0(x, dst, n); return;
    case GgmlType::Q4_K: dequantizeQ4_K(x, dst, n); return;
    case GgmlType::Q5_K: dequantizeQ5_K(x, dst, n); return;
    case GgmlType::Q6_K: dequantizeQ6_K(x, dst, n); return;
    }
}

void bf16ToFp32Row(const std::uint16_t* src, float* dst, std::int64_t n)
{
    for (std::int64_t i = 0; i < n; ++i)
        dst[i] = bitsFloat(static_cast<std::uint32_t>(src[i]) << 16);
}

void fp16ToFp32Row(const std::uint16_t* src, float* dst, std::int64_t n)
{
    for (std::int64_t i = 0; i < n; ++i)
        dst[i] = fp16ToFp32(src[i]);
}

} // namespace lathe
