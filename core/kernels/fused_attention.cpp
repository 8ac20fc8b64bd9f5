// The attention's fused ops (kernels/inference_ops.h): RoPE (with a decode step's per-head norm), scale + mask +
// softmax, and a decode step's attention over the KV cache.
#include "kernels/inference_ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "kernels/fused_rows.h"

namespace lathe {

namespace {

using namespace fused;

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

/// An additive attention mask [B or 1, 1, T, S] for `scores`' batch B, in their dtype and contiguous; an
/// undefined tensor for none; nothing where the mask has another shape.
std::optional<torch::Tensor> additiveMask(const torch::Tensor& mask, const torch::Tensor& like, std::int64_t B,
                                          std::int64_t T, std::int64_t S)
{
    if (!mask.defined())
        return torch::Tensor();
    if (!kindOf(mask) || mask.dim() != 4 || mask.size(1) != 1 || mask.size(2) != T || mask.size(3) != S ||
        (mask.size(0) != 1 && mask.size(0) != B))
        return std::nullopt;
    return mask.to(like.scalar_type()).contiguous();
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

torch::Tensor fusedNormRotary(const torch::Tensor& x, const torch::Tensor& normWeight, double eps, bool offsetOne,
                              const torch::Tensor& cos, const torch::Tensor& sin, bool interleaved)
{
    auto s = rotaryShape(x, cos, sin, interleaved);
    if (!s || recording())
        return {};
    s->norm = normWeight.defined();
    s->eps = float(eps);
    s->offset = offsetOne;
    if (s->norm && (kindOf(normWeight) != kindOf(x) || !normWeight.is_contiguous() || normWeight.dim() != 1 ||
                    normWeight.size(0) != s->D))
        return {};
    auto out = torch::empty({s->B, s->H, s->T, s->D}, x.options());
    const void* w = s->norm ? normWeight.data_ptr() : nullptr;
    const Kind kind = *kindOf(x);
    at::parallel_for(0, s->B * s->T * s->H, rotaryGrain(s->D), [&](std::int64_t r0, std::int64_t r1) {
        normRotary(kind, *s, x.data_ptr(), w, cos.data_ptr(), sin.data_ptr(), out.data_ptr(), r0, r1);
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
    const bool training = torch::GradMode::is_enabled() && scores.requires_grad();
    const auto converted = additiveMask(mask, scores, scores.size(0), T, scores.size(3));
    if (!converted)
        return {};
    const torch::Tensor& m = *converted;
    if (training) // (Functions take no undefined inputs)
        return SoftmaxFunction::apply(scores, m.defined() ? m : torch::empty({0}, scores.options()), scaling, T);
    const SoftmaxShape s{scores.size(-1), T, scores.numel() / scores.size(-1) / scores.size(0),
                         m.defined() ? m.size(0) : 0, float(scaling)};
    auto out = torch::empty_like(scores);
    const void* maskData = m.defined() ? m.data_ptr() : nullptr;
    at::parallel_for(0, scores.numel() / s.S, softmaxGrain(s.S), [&](std::int64_t r0, std::int64_t r1) {
        softmaxRows(*kind, s, scores.data_ptr(), maskData, out.data_ptr(), nullptr, r0, r1);
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
    const auto converted = additiveMask(mask, q, q.size(0), q.size(2), S);
    if (!converted)
        return {};
    const torch::Tensor& m = *converted;
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
