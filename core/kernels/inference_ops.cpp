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
    return (u & 0x7FFFFFFFu) > 0x7F800000u ? Bf16(0x7FC0) : Bf16(rounded);
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

/// One row of RMSNorm into float values `out` as the module's output dtype O holds them. `h` is scratch of D.
template <class X, class W, class O, bool kOffset>
LATHE_INLINE void rmsNormRow(const X* x, const W* w, float* h, float* out, std::int64_t D, float eps)
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
}

template <class X, class W, class O, bool kOffset>
LATHE_INLINE void rmsNormRowsT(const void* x, const void* w, void* out, std::int64_t r0, std::int64_t r1,
                               std::int64_t D, float eps)
{
    std::vector<float> scratch(2 * D);
    for (std::int64_t r = r0; r < r1; ++r) {
        rmsNormRow<X, W, O, kOffset>(static_cast<const X*>(x) + r * D, static_cast<const W*>(w), scratch.data(),
                                     scratch.data() + D, D, eps);
        for (std::int64_t i = 0; i < D; ++i)
            store(static_cast<O*>(out) + r * D, i, scratch[D + i]);
    }
}

enum class Kind
{
    F32,
    Bf16
};

LATHE_FUSED_CLONES
void rmsNormRows(Kind xKind, Kind wKind, bool offset, const void* x, const void* w, void* out, std::int64_t r0,
                 std::int64_t r1, std::int64_t D, float eps)
{
    const bool xb = xKind == Kind::Bf16, wb = wKind == Kind::Bf16;
    if (offset) {
        if (xb && wb)
            rmsNormRowsT<Bf16, Bf16, Bf16, true>(x, w, out, r0, r1, D, eps);
        else if (xb)
            rmsNormRowsT<Bf16, float, Bf16, true>(x, w, out, r0, r1, D, eps);
        else if (wb)
            rmsNormRowsT<float, Bf16, float, true>(x, w, out, r0, r1, D, eps);
        else
            rmsNormRowsT<float, float, float, true>(x, w, out, r0, r1, D, eps);
    } else {
        // The output dtype is the promotion of the weight's and the input's.
        if (xb && wb)
            rmsNormRowsT<Bf16, Bf16, Bf16, false>(x, w, out, r0, r1, D, eps);
        else if (xb)
            rmsNormRowsT<Bf16, float, float, false>(x, w, out, r0, r1, D, eps);
        else if (wb)
            rmsNormRowsT<float, Bf16, float, false>(x, w, out, r0, r1, D, eps);
        else
            rmsNormRowsT<float, float, float, false>(x, w, out, r0, r1, D, eps);
    }
}

// ----- act(gate) * up --------------------------------------------------------------------------------------

template <class E, bool kGelu>
LATHE_INLINE void actMulT(const void* gate, const void* up, void* out, std::int64_t i0, std::int64_t i1)
{
    const E* g = static_cast<const E*>(gate);
    const E* u = static_cast<const E*>(up);
    E* o = static_cast<E*>(out);
    for (std::int64_t i = i0; i < i1; ++i) {
        const float x = load(g, i);
        float act;
        if constexpr (kGelu) {
            // 0.5 x (1 + tanh(y)) = x / (1 + exp(-2y)), y = sqrt(2/pi) (x + 0.044715 x^3): no cancellation.
            const float y = 0.7978845608028654f * (x + 0.044715f * x * x * x);
            act = x / (1.0f + vexp(-2.0f * y));
        } else {
            act = x / (1.0f + vexp(-x));
        }
        store(o, i, rounded<E>(act) * load(u, i));
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
    float h[kMaxHeadDim], v[kMaxHeadDim];
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
        for (std::int64_t i = 0; i < s.rot; ++i) {
            float rotatedValue;
            if (s.interleaved) // GLM: (x0, x1, x2, x3, ...) -> (-x1, x0, -x3, x2, ...)
                rotatedValue = (i % 2 == 0) ? -v[i + 1] : v[i - 1];
            else
                rotatedValue = i < half ? -v[i + half] : v[i - half];
            const float a = rounded<E>(v[i] * load(cs, cosRow + i));
            const float c = rounded<E>(rotatedValue * load(sn, cosRow + i));
            store(dst, i, a + c);
        }
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
            float top = sr[0];
            for (std::int64_t j = 1; j < S; ++j)
                top = std::max(top, sr[j]);
            float total = 0;
            for (std::int64_t j = 0; j < S; ++j) {
                sr[j] = vexp(sr[j] - top);
                total += sr[j];
            }
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
    if (t_unfused || !t.defined() || !t.device().is_cpu() || !kernelPaths().fused)
        return std::nullopt;
    if (t.scalar_type() == torch::kFloat32)
        return Kind::F32;
    if (t.scalar_type() == torch::kBFloat16)
        return Kind::Bf16;
    return std::nullopt;
}

/// Only where grad mode is off: with it on, a forward is training's (even an op no gradient reaches, such as the
/// first layer's norm over frozen embeddings), and training runs libtorch's ops throughout.
bool recording()
{
    return torch::GradMode::is_enabled();
}

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
    if (!xKind || !wKind || recording() || !x.is_contiguous() || !weight.is_contiguous() ||
        x.dim() < 1 || weight.dim() != 1 || weight.size(0) != x.size(-1) || x.numel() == 0)
        return {};
    const auto outType = offsetOne ? x.scalar_type() : torch::promoteTypes(x.scalar_type(), weight.scalar_type());
    auto out = torch::empty(x.sizes(), x.options().dtype(outType));
    const std::int64_t D = x.size(-1), rows = x.numel() / D;
    at::parallel_for(0, rows, std::max<std::int64_t>(1, 16384 / D), [&](std::int64_t r0, std::int64_t r1) {
        rmsNormRows(*xKind, *wKind, offsetOne, x.data_ptr(), weight.data_ptr(), out.data_ptr(), r0, r1, D,
                    float(eps));
    });
    return out;
}

torch::Tensor fusedActMul(const torch::Tensor& gate, const torch::Tensor& up, bool gelu)
{
    const auto kind = kindOf(gate);
    if (!kind || kindOf(up) != kind || recording() || !gate.is_contiguous() || !up.is_contiguous() ||
        gate.sizes() != up.sizes() || gate.dim() < 1 || gate.numel() > kMaxFusedActRows * gate.size(-1))
        return {};
    auto out = torch::empty_like(gate);
    at::parallel_for(0, gate.numel(), 32768, [&](std::int64_t i0, std::int64_t i1) {
        actMul(*kind, gelu, gate.data_ptr(), up.data_ptr(), out.data_ptr(), i0, i1);
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
        (s.cosBatch != 1 && s.cosBatch != s.B))
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
