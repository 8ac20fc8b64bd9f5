// The peer in the same run: a LoRA training step of a Qwen3/Llama-style decoder written in plain libtorch the way
// Hugging Face transformers (4.51, eager attention) + PEFT (0.15) compute it, since these machines have no
// Python. Nothing of Lathe's engine is used (no fused loss, no chosen kernels, no arena): F.linear on the
// model's dtype, RMSNorm upcast to float32 and back, RoPE with cos/sin cast to the model's dtype, repeat_kv,
// softmax in float32, PEFT's LoRA (dropout, x cast to the float32 adapter, B(A(x)) * scaling added, cast back),
// logits in the model's dtype upcast for the cross entropy, torch's AdamW on the LoRA weights, and (when asked)
// per-layer reentrant gradient checkpointing as torch.utils.checkpoint does it with
// enable_input_require_grads(). Only Lathe's safetensors reader is borrowed, to load the weights.
#pragma once

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "io/safetensors.h"
#include "model/model_config.h"

namespace bench_ref {

struct LoraPair
{
    torch::Tensor a, b; // float32 [r, in], [out, r]
};

struct Layer
{
    torch::Tensor inNorm, postNorm, qNorm, kNorm;
    torch::Tensor q, k, v, o, gate, up, down;
    LoraPair lq, lk, lv, lo, lgate, lup, ldown;
};

struct Model
{
    lathe::ModelConfig config;
    torch::Tensor embed, norm, lmHead;
    std::vector<Layer> layers;
    double scaling = 2.0;
    bool checkpointing = false;
    torch::Tensor cos, sin; // [T, D] in the model's dtype

    std::vector<torch::Tensor> trainable()
    {
        std::vector<torch::Tensor> out;
        for (auto& l : layers)
            for (auto* p : {&l.lq, &l.lk, &l.lv, &l.lo, &l.lgate, &l.lup, &l.ldown}) {
                out.push_back(p->a);
                out.push_back(p->b);
            }
        return out;
    }
};

inline torch::Tensor rmsNorm(const torch::Tensor& x, const torch::Tensor& weight, double eps)
{
    auto h = x.to(torch::kFloat32);
    h = h * torch::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + eps);
    return weight * h.to(x.scalar_type());
}

// PEFT's lora.Linear.forward: base result, then the adapter on x cast to the adapter's dtype, cast back.
inline torch::Tensor loraLinear(const torch::Tensor& x, const torch::Tensor& weight, const LoraPair& lora,
                                double scaling)
{
    auto result = torch::nn::functional::linear(x, weight);
    if (!lora.a.defined()) // no adapter (inference)
        return result;
    const auto dtype = result.scalar_type();
    auto xl = x.to(lora.a.scalar_type()); // lora_dropout = 0: Identity
    result = result + torch::nn::functional::linear(torch::nn::functional::linear(xl, lora.a), lora.b) * scaling;
    return result.to(dtype);
}

inline torch::Tensor rotateHalf(const torch::Tensor& x)
{
    const auto half = x.size(-1) / 2;
    return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

inline torch::Tensor layerForward(const Model& m, const Layer& l, const torch::Tensor& x)
{
    const auto& c = m.config;
    const std::int64_t B = x.size(0), T = x.size(1), D = c.head_dim, nh = c.num_attention_heads,
                       nkv = c.num_key_value_heads;
    auto h = rmsNorm(x, l.inNorm, c.rms_norm_eps);
    auto q = loraLinear(h, l.q, l.lq, m.scaling).view({B, T, nh, D});
    auto k = loraLinear(h, l.k, l.lk, m.scaling).view({B, T, nkv, D});
    auto v = loraLinear(h, l.v, l.lv, m.scaling).view({B, T, nkv, D}).transpose(1, 2);
    if (l.qNorm.defined()) {
        q = rmsNorm(q, l.qNorm, c.rms_norm_eps);
        k = rmsNorm(k, l.kNorm, c.rms_norm_eps);
    }
    q = q.transpose(1, 2);
    k = k.transpose(1, 2);
    q = q * m.cos + rotateHalf(q) * m.sin;
    k = k * m.cos + rotateHalf(k) * m.sin;
    // repeat_kv
    const auto groups = nh / nkv;
    k = k.unsqueeze(2).expand({B, nkv, groups, T, D}).reshape({B, nh, T, D});
    v = v.unsqueeze(2).expand({B, nkv, groups, T, D}).reshape({B, nh, T, D});
    auto scores = torch::matmul(q, k.transpose(2, 3)) * (1.0 / std::sqrt(double(D)));
    auto mask = torch::full({T, T}, -std::numeric_limits<float>::infinity(), torch::kFloat32).triu(1);
    scores = scores + mask.to(scores.scalar_type());
    auto probs = torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type());
    auto attn = torch::matmul(probs, v).transpose(1, 2).reshape({B, T, nh * D});
    auto out = x + loraLinear(attn, l.o, l.lo, m.scaling);
    auto g = rmsNorm(out, l.postNorm, c.rms_norm_eps);
    auto mlp = loraLinear(torch::silu(loraLinear(g, l.gate, l.lgate, m.scaling)) *
                              loraLinear(g, l.up, l.lup, m.scaling),
                          l.down, l.ldown, m.scaling);
    return out + mlp;
}

// torch.utils.checkpoint(use_reentrant=True): forward without a graph, recompute it in the backward pass.
struct Checkpoint : public torch::autograd::Function<Checkpoint>
{
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x, std::int64_t model,
                                 std::int64_t layer)
    {
        ctx->saved_data["model"] = model;
        ctx->saved_data["layer"] = layer;
        ctx->save_for_backward({x});
        const auto* m = reinterpret_cast<const Model*>(model);
        return layerForward(*m, m->layers[std::size_t(layer)], x);
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads)
    {
        const auto* m = reinterpret_cast<const Model*>(ctx->saved_data["model"].toInt());
        const auto layer = ctx->saved_data["layer"].toInt();
        auto x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
        torch::Tensor y;
        {
            torch::AutoGradMode enable(true);
            y = layerForward(*m, m->layers[std::size_t(layer)], x);
        }
        torch::autograd::backward({y}, {grads[0]});
        return {x.grad(), torch::Tensor(), torch::Tensor()};
    }
};

inline torch::Tensor loss(Model& m, const torch::Tensor& ids)
{
    auto x = torch::embedding(m.embed, ids);
    if (m.checkpointing)
        x.requires_grad_(true); // enable_input_require_grads()
    for (std::size_t i = 0; i < m.layers.size(); ++i)
        x = m.checkpointing ? Checkpoint::apply(x, reinterpret_cast<std::int64_t>(&m), std::int64_t(i))
                            : layerForward(m, m.layers[i], x);
    x = rmsNorm(x, m.norm, m.config.rms_norm_eps);
    auto logits = torch::nn::functional::linear(x, m.lmHead).to(torch::kFloat32);
    const std::int64_t T = ids.size(1), V = logits.size(-1);
    return torch::nn::functional::cross_entropy(logits.narrow(1, 0, T - 1).reshape({-1, V}),
                                                ids.narrow(1, 1, T - 1).reshape({-1}));
}

inline Model load(const std::string& dir, std::int64_t rank, double alpha, std::int64_t seq, bool checkpointing)
{
    Model m;
    m.config = lathe::ModelConfig::fromDir(dir);
    m.scaling = alpha / double(rank);
    m.checkpointing = checkpointing;
    const auto store = lathe::WeightStore::openDir(dir);
    auto get = [&](const std::string& name) { return store.get(name).clone(); };
    auto has = [&](const std::string& name) { return store.contains(name); };
    m.embed = get("model.embed_tokens.weight");
    m.norm = get("model.norm.weight");
    m.lmHead = has("lm_head.weight") ? get("lm_head.weight") : m.embed;
    torch::manual_seed(0);
    auto lora = [&](const torch::Tensor& w) {
        LoraPair p;
        if (rank == 0)
            return p;
        p.a = torch::empty({rank, w.size(1)}, torch::kFloat32);
        torch::nn::init::kaiming_uniform_(p.a, std::sqrt(5.0));
        p.b = torch::zeros({w.size(0), rank}, torch::kFloat32);
        p.a.requires_grad_(true);
        p.b.requires_grad_(true);
        return p;
    };
    for (std::int64_t i = 0; i < m.config.num_hidden_layers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        Layer l;
        l.inNorm = get(p + "input_layernorm.weight");
        l.postNorm = get(p + "post_attention_layernorm.weight");
        if (has(p + "self_attn.q_norm.weight")) {
            l.qNorm = get(p + "self_attn.q_norm.weight");
            l.kNorm = get(p + "self_attn.k_norm.weight");
        }
        l.q = get(p + "self_attn.q_proj.weight");
        l.k = get(p + "self_attn.k_proj.weight");
        l.v = get(p + "self_attn.v_proj.weight");
        l.o = get(p + "self_attn.o_proj.weight");
        l.gate = get(p + "mlp.gate_proj.weight");
        l.up = get(p + "mlp.up_proj.weight");
        l.down = get(p + "mlp.down_proj.weight");
        l.lq = lora(l.q);
        l.lk = lora(l.k);
        l.lv = lora(l.v);
        l.lo = lora(l.o);
        l.lgate = lora(l.gate);
        l.lup = lora(l.up);
        l.ldown = lora(l.down);
        m.layers.push_back(std::move(l));
    }
    // RoPE (default rope_type): cos/sin in float32, cast to the model's dtype as LlamaRotaryEmbedding returns them.
    const std::int64_t D = m.config.head_dim;
    auto invFreq = 1.0 / torch::pow(m.config.rope_theta, torch::arange(0, D, 2, torch::kFloat32) / double(D));
    auto freqs = torch::outer(torch::arange(seq, torch::kFloat32), invFreq);
    auto emb = torch::cat({freqs, freqs}, -1);
    m.cos = emb.cos().to(m.embed.scalar_type());
    m.sin = emb.sin().to(m.embed.scalar_type());
    return m;
}

/// The logits of the last position of `ids` [1, T] (a prefill as generate() runs it, without a cache object).
inline torch::Tensor lastLogits(Model& m, const torch::Tensor& ids)
{
    torch::NoGradGuard noGrad;
    auto x = torch::embedding(m.embed, ids);
    for (const auto& l : m.layers)
        x = layerForward(m, l, x);
    x = rmsNorm(x.narrow(1, ids.size(1) - 1, 1), m.norm, m.config.rms_norm_eps);
    return torch::nn::functional::linear(x, m.lmHead).to(torch::kFloat32);
}

/// Tokens per second of `steps` timed steps (after two untimed ones) at [batch, seq] random ids, every token
/// learned, AdamW lr 1e-4.
inline double tokensPerSecond(Model& m, std::int64_t batch, std::int64_t seq, int steps, double* lastLoss = nullptr)
{
    torch::manual_seed(1);
    torch::optim::AdamW optimizer(m.trainable(), torch::optim::AdamWOptions(1e-4).weight_decay(0.0));
    const auto ids = torch::randint(0, m.config.vocab_size, {batch, seq}, torch::kLong);
    using Clock = std::chrono::steady_clock;
    Clock::time_point start;
    for (int s = 0; s < steps + 2; ++s) {
        if (s == 2)
            start = Clock::now();
        optimizer.zero_grad();
        auto l = loss(m, ids);
        l.backward();
        optimizer.step();
        if (lastLoss)
            *lastLoss = l.item<double>();
        if (m.layers.empty() || !m.layers[0].lq.a.defined())
            break;
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return double(batch * seq * steps) / seconds;
}

} // namespace bench_ref
