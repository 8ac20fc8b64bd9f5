#include "kernels/inference_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "kernels/fused_rows.h"
#include "kernels/kernel_paths.h"

// The fused norms, act * up and PEFT's epilogue, and when the fused ops apply; the attention's ops (RoPE, softmax,
// the KV cache) are in fused_attention.cpp, the element helpers both use in fused_rows.h.
namespace lathe {

namespace {

thread_local bool t_unfused = false;

} // namespace

// ----- applicability ---------------------------------------------------------------------------------------

namespace fused {

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

} // namespace fused

namespace {

using namespace fused;

// ----- RMSNorm ---------------------------------------------------------------------------------------------

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
        store(o, i, load(b, i) + lora[i] * scaling); // float32 sum, rounded once
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
    if (base.dim() < 1)
        return {};
    auto out = torch::empty_like(base);
    at::parallel_for(0, base.numel(), kElementGrain, [&](std::int64_t i0, std::int64_t i1) {
        scaledAdd(*kind, base.data_ptr(), lora.data_ptr<float>(), float(scaling), out.data_ptr(), i0, i1);
    });
    return out;
}

} // namespace lathe
