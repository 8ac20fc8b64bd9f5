#include "model/causal_lm.h"

#include <cmath>
#include <limits>
#include <tuple>

#include <torch/torch.h>

#include "kernels/inference_ops.h"
#include "kernels/kernel_paths.h"
#include "util/error.h"

namespace lathe {

// ---------------------------------------------------------------------------------------------------------
// KV cache
// ---------------------------------------------------------------------------------------------------------

std::pair<torch::Tensor, torch::Tensor> KVCache::append(std::int64_t layer, const torch::Tensor& k,
                                                        const torch::Tensor& v)
{
    auto& keys = m_keys[layer];
    auto& values = m_values[layer];
    const std::int64_t T = k.size(2), needed = m_length + T;
    if (!keys.defined() || keys.size(2) < needed || keys.size(0) != k.size(0)) {
        const std::int64_t capacity = std::max<std::int64_t>(needed, keys.defined() ? 2 * keys.size(2) : needed + 64);
        auto grownK = torch::empty({k.size(0), k.size(1), capacity, k.size(3)}, k.options());
        auto grownV = torch::empty({v.size(0), v.size(1), capacity, v.size(3)}, v.options());
        if (keys.defined() && m_length > 0) {
            grownK.narrow(2, 0, m_length).copy_(keys.narrow(2, 0, m_length));
            grownV.narrow(2, 0, m_length).copy_(values.narrow(2, 0, m_length));
        }
        keys = grownK;
        values = grownV;
    }
    keys.narrow(2, m_length, T).copy_(k);
    values.narrow(2, m_length, T).copy_(v);
    return {keys.narrow(2, 0, needed), values.narrow(2, 0, needed)};
}

void KVCache::clear()
{
    for (auto& t : m_keys)
        t = torch::Tensor();
    for (auto& t : m_values)
        t = torch::Tensor();
    m_length = 0;
}

void KVCache::selectBatch(const torch::Tensor& batchIndices)
{
    for (auto& t : m_keys)
        if (t.defined())
            t = t.index_select(0, batchIndices);
    for (auto& t : m_values)
        if (t.defined())
            t = t.index_select(0, batchIndices);
}

// ---------------------------------------------------------------------------------------------------------
// Attention
// ---------------------------------------------------------------------------------------------------------

AttentionImpl::AttentionImpl(const ModelConfig& c, std::int64_t layerIndex)
    : m_layer(layerIndex), m_heads(c.num_attention_heads), m_kvHeads(c.num_key_value_heads), m_headDim(c.head_dim),
      m_scaling(1.0 / std::sqrt(c.query_pre_attn_scalar.value_or(double(c.head_dim)))),
      m_softcap(c.attn_logit_softcapping), m_interleaved(c.rope_interleaved)
{
    const std::int64_t H = c.hidden_size;
    if (c.fused_qkv) {
        qkv_proj = register_module("qkv_proj", Linear(H, (m_heads + 2 * m_kvHeads) * m_headDim, c.qkv_bias));
    } else {
        q_proj = register_module("q_proj", Linear(H, m_heads * m_headDim, c.qkv_bias));
        k_proj = register_module("k_proj", Linear(H, m_kvHeads * m_headDim, c.qkv_bias));
        v_proj = register_module("v_proj", Linear(H, m_kvHeads * m_headDim, c.qkv_bias));
    }
    o_proj = register_module("o_proj", Linear(m_heads * m_headDim, H, c.o_bias));
    if (c.qk_norm) {
        q_norm = register_module("q_norm", RMSNorm(m_headDim, c.rms_norm_eps, torch::kFloat32, c.norm_offset_one));
        k_norm = register_module("k_norm", RMSNorm(m_headDim, c.rms_norm_eps, torch::kFloat32, c.norm_offset_one));
    }
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                     const torch::Tensor& mask, KVCache* cache)
{
    const std::int64_t B = x.size(0), T = x.size(1), D = m_headDim, KV = m_kvHeads, G = m_heads / m_kvHeads;
    torch::Tensor q, k, v;
    if (qkv_proj) {
        // Phi-3: one projection, its rows q (heads), then k, then v (kv heads).
        auto qkv = qkv_proj(x);
        q = qkv.narrow(-1, 0, m_heads * D).reshape({B, T, m_heads, D});
        k = qkv.narrow(-1, m_heads * D, KV * D).reshape({B, T, KV, D});
        v = qkv.narrow(-1, (m_heads + KV) * D, KV * D).reshape({B, T, KV, D});
    } else {
        const auto qkv = sharedInputForward(x, {q_proj.get(), k_proj.get(), v_proj.get()});
        q = qkv[0].view({B, T, m_heads, D}); // [B, T, Hq, D]
        k = qkv[1].view({B, T, KV, D});
        v = qkv[2].view({B, T, KV, D});
    }
    // [B, T, heads, D] -> [B, heads, T, D], normalised per head (Qwen3, Gemma 3) and rotated: one fused pass for a
    // decode step, the fused norm and rotation (each with its own backward) in training, libtorch's ops where
    // neither applies (kernels/inference_ops.h).
    auto normRotate = [&](const torch::Tensor& t, RMSNorm& norm) {
        auto fused = norm ? fusedNormRotary(t, norm->weight, norm->eps, norm->offsetOne, cos, sin, m_interleaved)
                          : fusedNormRotary(t, {}, 0.0, false, cos, sin, m_interleaved);
        if (fused.defined())
            return fused;
        const auto normed = norm ? norm(t) : t; // training: the norm and the rotation each with its own backward
        fused = fusedRotary(normed, cos, sin, m_interleaved);
        return fused.defined() ? fused : applyRotary(normed.transpose(1, 2), cos, sin, m_interleaved);
    };
    q = normRotate(q, q_norm); // [B, Hq, T, D]
    k = normRotate(k, k_norm); // [B, KV, T, D]
    v = v.transpose(1, 2);
    // On CPUs without native bf16, libtorch's batched matmul has no fast bf16/fp16 kernel (~10x slower than
    // fp32 for these shapes), so the attention core and the KV cache run in float32 there; where the probe found
    // bf16 faster (AVX512-BF16, AMX) the attention and the KV cache keep bf16 (kernels/kernel_paths.h). GPUs keep
    // the compute dtype.
    const auto computeType = x.scalar_type();
    const bool nativeAttention = computeType == torch::kBFloat16 && kernelPaths().attention == Bf16Path::Native;
    if (x.device().is_cpu() && computeType != torch::kFloat32 && !nativeAttention) {
        q = q.to(torch::kFloat32);
        k = k.to(torch::kFloat32);
        v = v.to(torch::kFloat32);
    }
    if (cache)
        std::tie(k, v) = cache->append(m_layer, k, v); // [B, KV, S, D]
    const std::int64_t S = k.size(2);
    if (T <= kMaxCachedAttentionRows) {
        // A decode step: the new rows against the cache in one pass per kv head, no copies of the cache.
        auto out = cachedAttention(q, k, v, mask, m_scaling, m_softcap);
        if (out.defined())
            return o_proj(out.to(computeType));
    }

    // Grouped-query attention without repeating k/v: query head h uses kv head h / G, so the G query heads of
    // one kv head are stacked along the time axis and share one matmul with it.
    auto qg = q.reshape({B, KV, G * T, D});
    auto scores = torch::matmul(qg, k.transpose(-1, -2)); // [B, KV, G*T, S]
    torch::Tensor probs;
    if (!m_softcap) // scale, mask and softmax in one pass each way (kernels/inference_ops.h)
        probs = fusedSoftmax(scores, mask, m_scaling, T);
    if (!probs.defined()) {
        scores = scores * m_scaling;
        if (m_softcap) // Gemma 2: soft-cap before the mask
            scores = torch::tanh(scores / *m_softcap) * *m_softcap;
        if (mask.defined())
            scores = scores.view({B, KV, G, T, S}) + mask.unsqueeze(1); // mask [B, 1, 1, T, S]
        probs = torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type()).view({B, KV, G * T, S});
    }
    auto out = torch::matmul(probs, v);                                // [B, KV, G*T, D]
    out = out.view({B, m_heads, T, D}).transpose(1, 2).reshape({B, T, m_heads * D});
    return o_proj(out.to(computeType));
}

// ---------------------------------------------------------------------------------------------------------
// MLP, mixture of experts and decoder layer
// ---------------------------------------------------------------------------------------------------------

MLPImpl::MLPImpl(const ModelConfig& c, std::int64_t inner, bool mixtralNames)
    : m_gelu(c.hidden_act == "gelu_pytorch_tanh" || c.hidden_act == "gelu_tanh"), m_inner(inner)
{
    const std::int64_t H = c.hidden_size;
    if (c.fused_gate_up && !mixtralNames) {
        gate_up_proj = register_module("gate_up_proj", Linear(H, 2 * inner, c.mlp_bias));
    } else {
        gate_proj = register_module(mixtralNames ? "w1" : "gate_proj", Linear(H, inner, c.mlp_bias));
        up_proj = register_module(mixtralNames ? "w3" : "up_proj", Linear(H, inner, c.mlp_bias));
    }
    down_proj = register_module(mixtralNames ? "w2" : "down_proj", Linear(inner, H, c.mlp_bias));
}

torch::Tensor MLPImpl::forward(const torch::Tensor& x)
{
    torch::Tensor gate, up;
    if (gate_up_proj) {
        auto both = gate_up_proj(x); // gate rows, then up
        gate = both.narrow(-1, 0, m_inner);
        up = both.narrow(-1, m_inner, m_inner);
    } else {
        const auto both = sharedInputForward(x, {gate_proj.get(), up_proj.get()});
        gate = both[0];
        up = both[1];
    }
    auto product = fusedActMul(gate, up, m_gelu); // one pass (and one backward pass in training)
    if (!product.defined())
        product = (m_gelu ? torch::gelu(gate, "tanh") : torch::silu(gate)) * up;
    return down_proj(product);
}

SparseMoeImpl::SparseMoeImpl(const ModelConfig& c, std::shared_ptr<RouterLogits> sink)
    : m_topK(c.num_experts_per_tok), m_normalize(c.norm_topk_prob), m_sink(std::move(sink))
{
    gate = register_module("gate", Linear(c.hidden_size, c.num_experts, false));
    experts = register_module("experts", torch::nn::ModuleList());
    for (std::int64_t e = 0; e < c.num_experts; ++e)
        experts->push_back(MLP(c, c.moe_intermediate_size, c.mixtral_names));
    if (c.shared_expert_intermediate_size > 0) {
        shared_expert = register_module("shared_expert", MLP(c, c.shared_expert_intermediate_size));
        shared_expert_gate = register_module("shared_expert_gate", Linear(c.hidden_size, 1, false));
    }
}

torch::Tensor SparseMoeImpl::forward(const torch::Tensor& x)
{
    const auto shape = x.sizes().vec();
    const std::int64_t H = x.size(-1);
    const auto flat = x.reshape({-1, H});                           // [N, H]
    const auto logits = gate(flat);                                 // [N, E]
    if (m_sink)
        m_sink->push_back(logits);
    auto probs = torch::softmax(logits, -1, torch::kFloat32);      // over every expert, in float32
    auto [weights, chosen] = probs.topk(m_topK, -1);                // [N, k]
    if (m_normalize)
        weights = weights / weights.sum(-1, /*keepdim=*/true);
    weights = weights.to(x.scalar_type());
    auto out = torch::zeros_like(flat);
    // Grouped by expert: each expert runs once on the tokens routed to it.
    const auto chosenCpu = chosen.to(torch::kCPU);
    const auto counts = torch::bincount(chosenCpu.reshape({-1}), {}, experts->size());
    const auto* count = counts.data_ptr<std::int64_t>();
    for (std::int64_t e = 0; e < std::int64_t(experts->size()); ++e) {
        if (count[e] == 0)
            continue;
        const auto hit = chosen.eq(e).nonzero(); // [n, 2]: (token, slot)
        const auto tokens = hit.select(1, 0), slots = hit.select(1, 1);
        auto* expert = (*experts)[std::size_t(e)]->as<MLPImpl>();
        const auto y = expert->forward(flat.index_select(0, tokens));
        const auto w = weights.index({tokens, slots}).unsqueeze(1);
        out = out.index_add(0, tokens, y * w);
    }
    if (shared_expert) // Qwen2MoeSparseMoeBlock: + sigmoid(shared_expert_gate(x)) * shared_expert(x)
        out = out + torch::sigmoid(shared_expert_gate(flat)) * shared_expert(flat);
    return out.reshape(shape);
}

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& c, std::int64_t layerIndex, std::shared_ptr<RouterLogits> sink)
    : slides(c.layerSlides(layerIndex))
{
    self_attn = register_module("self_attn", Attention(c, layerIndex));
    if (c.layerIsSparse(layerIndex))
        moe = register_module(c.mixtral_names ? "block_sparse_moe" : "mlp", SparseMoe(c, std::move(sink)));
    else
        mlp = register_module("mlp", MLP(c, c.intermediate_size));
    const bool offset = c.norm_offset_one;
    input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps, torch::kFloat32, offset));
    post_attention_layernorm =
        register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps, torch::kFloat32, offset));
    if (c.sandwich_norm) {
        pre_feedforward_layernorm = register_module(
            "pre_feedforward_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps, torch::kFloat32, offset));
        post_feedforward_layernorm = register_module(
            "post_feedforward_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps, torch::kFloat32, offset));
    }
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                        const torch::Tensor& mask, KVCache* cache)
{
    auto feedForward = [&](const torch::Tensor& h) { return moe ? moe(h) : mlp(h); };
    if (pre_feedforward_layernorm) {
        // Gemma 2/3: h += post_attn_norm(attn(input_norm(h))); h += post_ff_norm(mlp(pre_ff_norm(h))).
        auto h = x + post_attention_layernorm(self_attn(input_layernorm(x), cos, sin, mask, cache));
        return h + post_feedforward_layernorm(feedForward(pre_feedforward_layernorm(h)));
    }
    auto h = x + self_attn(input_layernorm(x), cos, sin, mask, cache);
    return h + feedForward(post_attention_layernorm(h));
}

DecoderImpl::DecoderImpl(const ModelConfig& c, std::shared_ptr<RouterLogits> routerSink)
{
    embed_tokens = register_module("embed_tokens", Embedding(c.vocab_size, c.hidden_size));
    layers = register_module("layers", torch::nn::ModuleList());
    for (std::int64_t i = 0; i < c.num_hidden_layers; ++i)
        layers->push_back(DecoderLayer(c, i, routerSink));
    norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps, torch::kFloat32, c.norm_offset_one));
}

// ---------------------------------------------------------------------------------------------------------
// Gradient checkpointing: run a layer without keeping its activations, recompute it in the backward pass.
// ---------------------------------------------------------------------------------------------------------

namespace {

struct LayerCheckpoint : public torch::autograd::Function<LayerCheckpoint>
{
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, torch::Tensor hidden,
                                                  DecoderLayerImpl* layer, torch::Tensor cos, torch::Tensor sin,
                                                  torch::Tensor mask)
    {
        ctx->saved_data["layer"] = reinterpret_cast<std::int64_t>(layer);
        ctx->saved_data["cos"] = cos;
        ctx->saved_data["sin"] = sin;
        ctx->saved_data["mask"] = mask;
        // The recomputation must draw the same dropout masks (LoRA dropout): keep the generator's state, as
        // torch.utils.checkpoint does with preserve_rng_state.
        ctx->saved_data["rng"] = at::detail::getDefaultCPUGenerator().get_state();
        ctx->save_for_backward({hidden});
        // Grad mode is off inside Function::forward while the recomputation records a graph: the scope keeps the
        // inference-only fused ops out, so both passes run the same kernels.
        const UnfusedOpsScope sameOpsAsTheRecomputation;
        auto output = layer->forward(hidden, cos, sin, mask, nullptr);
        return {output, takeRouterLogits(layer)};
    }

    /// The router logits a sparse layer's forward just added to the model's list (taken back off it: the
    /// caller adds this Function's output instead), or an empty tensor for a dense layer.
    static torch::Tensor takeRouterLogits(DecoderLayerImpl* layer)
    {
        if (!layer->moe || !layer->moe->sink() || layer->moe->sink()->empty())
            return torch::empty({0});
        auto logits = layer->moe->sink()->back();
        layer->moe->sink()->pop_back();
        return logits;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list gradOutputs)
    {
        auto* layer = reinterpret_cast<DecoderLayerImpl*>(ctx->saved_data["layer"].toInt());
        auto input = ctx->get_saved_variables()[0].detach().requires_grad_(true);
        torch::Tensor output, router;
        auto generator = at::detail::getDefaultCPUGenerator();
        const auto current = generator.get_state();
        generator.set_state(ctx->saved_data["rng"].toTensor());
        {
            torch::AutoGradMode enable(true);
            output = layer->forward(input, ctx->saved_data["cos"].toTensor(), ctx->saved_data["sin"].toTensor(),
                                    ctx->saved_data["mask"].toTensor(), nullptr);
            router = takeRouterLogits(layer);
        }
        generator.set_state(current);
        if (router.numel() > 0 && gradOutputs.size() > 1 && gradOutputs[1].defined())
            torch::autograd::backward({output, router}, {gradOutputs[0], gradOutputs[1]});
        else
            torch::autograd::backward({output}, {gradOutputs[0]});
        return {input.grad(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

torch::Tensor lowestValue(torch::ScalarType type)
{
    switch (type) {
    case torch::kBFloat16:
        return torch::tensor(-3.38953139e38f).to(type);
    case torch::kHalf:
        return torch::tensor(-65504.0f).to(type);
    default:
        return torch::tensor(std::numeric_limits<float>::lowest()).to(type);
    }
}

} // namespace

// ---------------------------------------------------------------------------------------------------------
// CausalLM
// ---------------------------------------------------------------------------------------------------------

CausalLMImpl::CausalLMImpl(const ModelConfig& config) : m_config(config), m_rope(config)
{
    model = register_module("model", Decoder(config, m_config.num_experts > 0 ? m_routerLogits : nullptr));
    if (!config.tie_word_embeddings)
        lm_head = register_module("lm_head", Linear(config.hidden_size, config.vocab_size, false));
    if (config.rope_local_base_freq)
        m_localRope.emplace(config, *config.rope_local_base_freq);
}

torch::Tensor CausalLMImpl::softcapLogits(const torch::Tensor& logits) const
{
    if (!m_config.final_logit_softcapping)
        return logits;
    const double c = *m_config.final_logit_softcapping;
    return torch::tanh(logits / c) * c;
}

torch::ScalarType CausalLMImpl::dtype() const
{
    return model->embed_tokens->weight.scalar_type();
}

torch::Device CausalLMImpl::device() const
{
    return model->embed_tokens->weight.device();
}

torch::Tensor CausalLMImpl::buildMask(const torch::Tensor& attention_mask, std::int64_t past, std::int64_t T,
                                      std::int64_t B, torch::ScalarType dtype, torch::Device device,
                                      std::optional<std::int64_t> slidingWindow) const
{
    const std::int64_t S = past + T;
    const bool padding = attention_mask.defined() && !attention_mask.all().item<bool>();
    const bool window = slidingWindow && S > *slidingWindow;
    if (!padding && T == 1 && !window)
        return {};
    auto opts = torch::TensorOptions().dtype(torch::kLong).device(device);
    auto query = torch::arange(past, S, opts).unsqueeze(1); // [T, 1]
    auto key = torch::arange(0, S, opts).unsqueeze(0);      // [1, S]
    auto allowed = key <= query;
    if (window)
        allowed = allowed & (key > query - *slidingWindow);
    allowed = allowed.unsqueeze(0); // [1, T, S]
    if (padding) {
        if (attention_mask.size(1) != S)
            fail("attention_mask covers ", attention_mask.size(1), " tokens but past + new tokens are ", S);
        allowed = allowed & attention_mask.to(device).ne(0).unsqueeze(1); // [B, T, S]
    }
    (void)B;
    auto mask = torch::zeros(allowed.sizes(), torch::TensorOptions().dtype(dtype).device(device));
    mask.masked_fill_(allowed.logical_not(), lowestValue(dtype).item());
    return mask.unsqueeze(1); // [B or 1, 1, T, S]
}

torch::Tensor CausalLMImpl::hiddenStates(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                         KVCache* cache, const torch::Tensor& position_ids)
{
    const std::int64_t B = input_ids.size(0), T = input_ids.size(1);
    const std::int64_t past = cache ? cache->length() : 0;
    const auto device = this->device();
    auto ids = input_ids.to(device);

    torch::Tensor positions;
    if (position_ids.defined()) {
        positions = position_ids.to(device).to(torch::kLong);
    } else if (attention_mask.defined()) {
        auto m = attention_mask.to(device).to(torch::kLong);
        positions = (m.cumsum(-1) - 1).masked_fill(m.eq(0), 1).narrow(1, past, T);
    } else {
        positions = torch::arange(past, past + T, torch::TensorOptions().dtype(torch::kLong).device(device))
                        .unsqueeze(0)
                        .expand({B, T});
    }

    auto h = model->embed_tokens(ids);
    if (m_config.embedding_scale != 1.0) // Gemma: sqrt(hidden_size), as a tensor of the activation dtype
        h = h * torch::tensor(m_config.embedding_scale, h.options());
    if (m_neftuneAlpha > 0 && is_training() && torch::GradMode::is_enabled()) {
        const double magnitude = m_neftuneAlpha / std::sqrt(double(h.size(1) * h.size(2)));
        h = h + torch::empty_like(h).uniform_(-magnitude, magnitude);
    }
    if (m_routerLogits)
        m_routerLogits->clear();
    auto [cos, sin] = m_rope.cosSin(positions, h.scalar_type());
    // Sliding layers: their own mask (and, for Gemma 3, their own RoPE); the others attend to everything.
    bool anySlides = false, allSlide = true;
    for (const auto& module : *model->layers) {
        anySlides |= module->as<DecoderLayerImpl>()->slides;
        allSlide &= module->as<DecoderLayerImpl>()->slides;
    }
    auto mask = allSlide ? torch::Tensor() : buildMask(attention_mask, past, T, B, h.scalar_type(), device, std::nullopt);
    auto windowMask = anySlides ? buildMask(attention_mask, past, T, B, h.scalar_type(), device, m_config.sliding_window)
                                : torch::Tensor();
    torch::Tensor localCos = cos, localSin = sin;
    if (m_localRope)
        std::tie(localCos, localSin) = m_localRope->cosSin(positions, h.scalar_type());

    const bool checkpoint =
        m_gradientCheckpointing && is_training() && torch::GradMode::is_enabled() && cache == nullptr;
    // Checkpointed layers pass gradients only to inputs that need them: with a frozen embedding the first
    // layer's input must ask for one, or nothing inside the layers would be trained (transformers'
    // enable_input_require_grads).
    if (checkpoint && !h.requires_grad())
        h = h.detach().requires_grad_(true);
    for (const auto& module : *model->layers) {
        auto* layer = module->as<DecoderLayerImpl>();
        const auto& c = layer->slides ? localCos : cos;
        const auto& s = layer->slides ? localSin : sin;
        const auto& m = layer->slides ? windowMask : mask;
        if (checkpoint) {
            auto outputs = LayerCheckpoint::apply(h, layer, c, s, m);
            h = outputs[0];
            // A sparse layer's router logits come out of the checkpoint too, so the load-balancing loss
            // reaches the router and the layers below it.
            if (m_routerLogits && layer->moe)
                m_routerLogits->push_back(outputs[1]);
        } else {
            h = layer->forward(h, c, s, m, cache);
        }
    }
    if (cache)
        cache->advance(T);
    return model->norm(h);
}

torch::Tensor CausalLMImpl::lmHead(const torch::Tensor& hidden)
{
    if (lm_head)
        return softcapLogits(lm_head(hidden));
    return softcapLogits(linearForward(hidden, model->embed_tokens->weight));
}

torch::Tensor CausalLMImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                    KVCache* cache)
{
    return lmHead(hiddenStates(input_ids, attention_mask, cache)).to(torch::kFloat32);
}

torch::Tensor CausalLMImpl::loss(const torch::Tensor& input_ids, const torch::Tensor& labels,
                                 const torch::Tensor& attention_mask)
{
    auto logits = forward(input_ids, attention_mask); // [B, T, V] float32
    const std::int64_t T = logits.size(1), V = logits.size(2);
    auto shiftLogits = logits.narrow(1, 0, T - 1).reshape({-1, V});
    auto shiftLabels = labels.to(logits.device()).narrow(1, 1, T - 1).reshape({-1});
    return torch::nn::functional::cross_entropy(
        shiftLogits, shiftLabels, torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100));
}

namespace {

// The lm_head products of the fused losses below, by the path kernels/kernel_paths.h measured fastest: float32
// GEMMs on widened blocks of a bf16 W (exact products; what CPUs without native bf16 need), or libtorch's bf16
// GEMM (oneDNN) on the bf16 blocks with the results widened, as transformers computes a bf16 model's logits.
class HeadProducts
{
public:
    HeadProducts(const torch::Tensor& hidden, const torch::Tensor& weight)
        : m_weight(weight),
          m_native(weight.scalar_type() == torch::kBFloat16 && weight.device().is_cpu() &&
                   kernelPaths().lmHead == Bf16Path::Native),
          m_hidden(m_native ? hidden.to(torch::kBFloat16) : hidden.to(torch::kFloat32))
    {
    }

    /// The hidden states as the products read them (float32, or bf16 on the native path).
    const torch::Tensor& hidden() const { return m_hidden; }

    /// out = h W[v0:v0+vb]^T for float32 `out` [rows, vb] and h rows of hidden().
    void logits(torch::Tensor out, const torch::Tensor& h, std::int64_t v0, std::int64_t vb) const
    {
        if (m_native)
            out.copy_(torch::mm(h, m_weight.narrow(0, v0, vb).t()));
        else
            torch::mm_out(out, h, block(v0, vb).t());
    }

    /// gh += g W[v0:v0+vb] for float32 gh [rows, H] and g [rows, vb].
    void addGradHidden(torch::Tensor gh, const torch::Tensor& g, std::int64_t v0, std::int64_t vb) const
    {
        if (m_native)
            gh.add_(torch::mm(g.to(torch::kBFloat16), m_weight.narrow(0, v0, vb)));
        else
            gh.addmm_(g, block(v0, vb));
    }

private:
    torch::Tensor block(std::int64_t v0, std::int64_t vb) const
    {
        auto w = m_weight.narrow(0, v0, vb);
        return w.scalar_type() == torch::kFloat32 ? w : w.to(torch::kFloat32);
    }

    const torch::Tensor& m_weight;
    bool m_native;
    torch::Tensor m_hidden;
};

// Sum over rows of cross_entropy(h W^T, target) without keeping [rows, vocab] tensors for the backward pass:
// the forward pass already knows the gradient (softmax - onehot), so it computes dh (and dW when W is trained)
// right away and autograd only keeps those. Per chunk of rows, the logits live in one float32 buffer that
// every vocabulary block of W is multiplied into (HeadProducts: widened float32 blocks, or oneDNN's bf16 GEMM where
// the probe found it faster). Two GEMMs per chunk, as the unfused version, at a
// third of its memory for an lm_head.
struct FusedLinearCrossEntropy : public torch::autograd::Function<FusedLinearCrossEntropy>
{
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& hidden,
                                 const torch::Tensor& weight, const torch::Tensor& targets)
    {
        const std::int64_t n = hidden.size(0), H = hidden.size(1), V = weight.size(0);
        const bool needInput = hidden.requires_grad(), needWeight = weight.requires_grad();
        const auto f32 = hidden.options().dtype(torch::kFloat32);
        const HeadProducts head(hidden, weight);
        // dW needs float32 hidden states: the widened path already holds them.
        const auto hf = !needWeight ? torch::Tensor()
                        : head.hidden().scalar_type() == torch::kFloat32 ? head.hidden()
                                                                         : hidden.to(torch::kFloat32);
        const std::int64_t vocabBlock = std::max<std::int64_t>(256, (std::int64_t(8) << 20) / std::max<std::int64_t>(H, 1));
        const std::int64_t rowChunk = std::max<std::int64_t>(1, (std::int64_t(256) << 20) / (V * 4));
        auto gradHidden = needInput ? torch::empty({n, H}, f32) : torch::Tensor();
        auto gradWeight = needWeight ? torch::zeros({V, H}, f32) : torch::Tensor();
        auto total = torch::zeros({}, f32);
        for (std::int64_t r0 = 0; r0 < n; r0 += rowChunk) {
            const std::int64_t rc = std::min(rowChunk, n - r0);
            const auto h = head.hidden().narrow(0, r0, rc);
            const auto t = targets.narrow(0, r0, rc).unsqueeze(1);
            auto logits = torch::empty({rc, V}, f32);
            for (std::int64_t v0 = 0; v0 < V; v0 += vocabBlock) {
                const std::int64_t vb = std::min(vocabBlock, V - v0);
                head.logits(logits.narrow(1, v0, vb), h, v0, vb);
            }
            const auto picked = logits.gather(1, t).squeeze(1);
            const auto max = std::get<0>(logits.max(1, /*keepdim=*/true));
            logits.sub_(max).exp_();
            const auto sum = logits.sum(1, /*keepdim=*/true);
            total += (max.squeeze(1) + sum.log().squeeze(1) - picked).sum();
            if (!needInput && !needWeight)
                continue;
            // d loss / d logits = softmax - onehot(target), in place.
            logits.div_(sum);
            logits.scatter_add_(1, t, torch::full({rc, 1}, -1.0f, f32));
            if (needInput)
                gradHidden.narrow(0, r0, rc).zero_();
            for (std::int64_t v0 = 0; v0 < V; v0 += vocabBlock) {
                const std::int64_t vb = std::min(vocabBlock, V - v0);
                const auto g = logits.narrow(1, v0, vb);
                if (needInput)
                    head.addGradHidden(gradHidden.narrow(0, r0, rc), g, v0, vb);
                if (needWeight)
                    gradWeight.narrow(0, v0, vb).addmm_(g.t(), hf.narrow(0, r0, rc));
            }
        }
        ctx->saved_data["dh"] = needInput ? gradHidden.to(hidden.scalar_type()) : torch::Tensor();
        ctx->saved_data["dw"] = needWeight ? gradWeight.to(weight.scalar_type()) : torch::Tensor();
        return total;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list gradOutputs)
    {
        const auto g = gradOutputs[0];
        auto dh = ctx->saved_data["dh"].toTensor();
        auto dw = ctx->saved_data["dw"].toTensor();
        return {dh.defined() ? dh * g.to(dh.scalar_type()) : dh, dw.defined() ? dw * g.to(dw.scalar_type()) : dw,
                torch::Tensor()};
    }
};

// The per-token form of the above for a frozen head: -log p(target) of each row [n]. The gradient with
// respect to the hidden states of each row is formed in the forward pass and scaled by that row's incoming
// gradient in the backward pass, so the [n, V] logits are never kept.
struct FusedLinearTokenNll : public torch::autograd::Function<FusedLinearTokenNll>
{
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& hidden,
                                 const torch::Tensor& weight, const torch::Tensor& targets)
    {
        const std::int64_t n = hidden.size(0), H = hidden.size(1), V = weight.size(0);
        const bool needInput = hidden.requires_grad();
        const auto f32 = hidden.options().dtype(torch::kFloat32);
        const HeadProducts head(hidden, weight);
        const std::int64_t vocabBlock = std::max<std::int64_t>(256, (std::int64_t(8) << 20) / std::max<std::int64_t>(H, 1));
        const std::int64_t rowChunk = std::max<std::int64_t>(1, (std::int64_t(256) << 20) / (V * 4));
        auto gradHidden = needInput ? torch::empty({n, H}, f32) : torch::Tensor();
        auto nll = torch::empty({n}, f32);
        for (std::int64_t r0 = 0; r0 < n; r0 += rowChunk) {
            const std::int64_t rc = std::min(rowChunk, n - r0);
            const auto h = head.hidden().narrow(0, r0, rc);
            const auto t = targets.narrow(0, r0, rc).unsqueeze(1);
            auto logits = torch::empty({rc, V}, f32);
            for (std::int64_t v0 = 0; v0 < V; v0 += vocabBlock) {
                const std::int64_t vb = std::min(vocabBlock, V - v0);
                head.logits(logits.narrow(1, v0, vb), h, v0, vb);
            }
            const auto picked = logits.gather(1, t).squeeze(1);
            const auto max = std::get<0>(logits.max(1, /*keepdim=*/true));
            logits.sub_(max).exp_();
            const auto sum = logits.sum(1, /*keepdim=*/true);
            nll.narrow(0, r0, rc).copy_(max.squeeze(1) + sum.log().squeeze(1) - picked);
            if (!needInput)
                continue;
            logits.div_(sum);
            logits.scatter_add_(1, t, torch::full({rc, 1}, -1.0f, f32));
            auto gh = gradHidden.narrow(0, r0, rc).zero_();
            for (std::int64_t v0 = 0; v0 < V; v0 += vocabBlock) {
                const std::int64_t vb = std::min(vocabBlock, V - v0);
                head.addGradHidden(gh, logits.narrow(1, v0, vb), v0, vb);
            }
        }
        ctx->saved_data["dh"] = needInput ? gradHidden : torch::Tensor();
        ctx->saved_data["dtype"] = static_cast<std::int64_t>(hidden.scalar_type());
        return nll;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list gradOutputs)
    {
        auto dh = ctx->saved_data["dh"].toTensor();
        const auto dtype = static_cast<torch::ScalarType>(ctx->saved_data["dtype"].toInt());
        if (!dh.defined())
            return {torch::Tensor(), torch::Tensor(), torch::Tensor()};
        return {(dh * gradOutputs[0].to(torch::kFloat32).unsqueeze(1)).to(dtype), torch::Tensor(), torch::Tensor()};
    }
};

/// The next-token positions with a learned label: their flat indices into [B * (T-1)], the hidden states that
/// predict them [n, H] and the labels [n] (logits at t predict the label at t + 1; -100 is not learned).
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> learnedPositions(const torch::Tensor& hidden,
                                                                         const torch::Tensor& labels)
{
    const std::int64_t T = hidden.size(1), H = hidden.size(2);
    auto shiftLabels = labels.to(hidden.device()).narrow(1, 1, T - 1).reshape({-1});
    auto keep = shiftLabels.ne(-100).nonzero().reshape({-1});
    auto picked = hidden.narrow(1, 0, T - 1).reshape({-1, H}).index_select(0, keep);
    return {keep, picked, shiftLabels.index_select(0, keep)};
}

} // namespace

std::pair<torch::Tensor, std::int64_t> CausalLMImpl::tokenLoss(const torch::Tensor& input_ids,
                                                                const torch::Tensor& labels,
                                                                const torch::Tensor& attention_mask)
{
    auto hidden = hiddenStates(input_ids, attention_mask); // [B, T, H]
    const auto [keep, picked, targets] = learnedPositions(hidden, labels);
    const std::int64_t count = keep.numel();
    if (count == 0)
        return {(hidden.sum() * 0).to(torch::kFloat32), 0}; // keeps the graph connected
    // An lm_head with an adapter, or soft-capped logits, go the plain way (the fused loss knows only W x).
    if ((lm_head && lm_head->adapter) || m_config.final_logit_softcapping) {
        auto logits = lmHead(picked).to(torch::kFloat32);
        auto sum = torch::nn::functional::cross_entropy(
            logits, targets, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
        return {sum, count};
    }
    const auto& weight = lm_head ? lm_head->weight : model->embed_tokens->weight;
    return {FusedLinearCrossEntropy::apply(picked, weight, targets), count};
}

torch::Tensor CausalLMImpl::labelLogProbs(const torch::Tensor& hidden, const torch::Tensor& labels)
{
    const std::int64_t B = hidden.size(0), T = hidden.size(1);
    const auto [keep, picked, targets] = learnedPositions(hidden, labels);
    auto out = torch::zeros({B * (T - 1)}, hidden.options().dtype(torch::kFloat32));
    if (keep.numel() == 0)
        return (out + hidden.sum().to(torch::kFloat32) * 0).reshape({B, T - 1}); // keeps the graph connected
    const auto& weight = lm_head ? lm_head->weight : model->embed_tokens->weight;
    torch::Tensor logp;
    if ((lm_head && lm_head->adapter) || weight.requires_grad() || m_config.final_logit_softcapping) {
        // A trained or adapted head: the plain way, through autograd.
        auto logits = lmHead(picked).to(torch::kFloat32);
        logp = torch::log_softmax(logits, -1).gather(1, targets.unsqueeze(1)).squeeze(1);
    } else {
        logp = -FusedLinearTokenNll::apply(picked, weight, targets);
    }
    return out.index_add(0, keep, logp).reshape({B, T - 1});
}

torch::Tensor CausalLMImpl::logitSums(const torch::Tensor& hidden)
{
    torch::NoGradGuard noGrad;
    if (m_config.final_logit_softcapping) {
        // Soft-capped logits are not linear in h: form them, a few rows at a time.
        const std::int64_t B = hidden.size(0), T = hidden.size(1);
        auto sums = torch::zeros({B}, hidden.options().dtype(torch::kFloat32));
        const std::int64_t chunk = std::max<std::int64_t>(1, (std::int64_t(64) << 20) / (4 * m_config.vocab_size));
        for (std::int64_t t0 = 0; t0 < T; t0 += chunk)
            sums += lmHead(hidden.narrow(1, t0, std::min(chunk, T - t0))).to(torch::kFloat32).sum({1, 2});
        return sums;
    }
    // sum_t sum_v (h_t . w_v + b_v) = (sum_t h_t) . (sum_v w_v) + T sum_v b_v.
    const auto& weight = lm_head ? lm_head->weight : model->embed_tokens->weight;
    // Summed in float32 without a float32 copy of the [V, H] weight.
    const auto columnSum = weight.sum(0, /*keepdim=*/false, torch::kFloat32); // [H]
    auto sums = hidden.to(torch::kFloat32).sum(1).matmul(columnSum); // [B]
    if (lm_head && lm_head->bias.defined())
        sums = sums + double(hidden.size(1)) * lm_head->bias.to(torch::kFloat32).sum();
    return sums;
}

torch::Tensor CausalLMImpl::routerAuxLoss(const torch::Tensor& attention_mask) const
{
    if (!m_routerLogits || m_routerLogits->empty())
        return {};
    // transformers' load_balancing_loss_func over the concatenated sparse layers: E * sum_e f_e * P_e, f_e the
    // share of rows that put e among their top k, P_e the mean routing probability of e.
    const auto logits = torch::cat(*m_routerLogits, 0).to(torch::kFloat32); // [L * N, E]
    const std::int64_t E = logits.size(1), k = m_config.num_experts_per_tok;
    const auto probs = torch::softmax(logits, -1);
    const auto chosen = std::get<1>(probs.topk(k, -1));
    const auto expertMask = torch::one_hot(chosen, E).to(torch::kFloat32); // [L * N, k, E]
    torch::Tensor tokensPerExpert, probPerExpert;
    if (!attention_mask.defined()) {
        tokensPerExpert = expertMask.mean(0);
        probPerExpert = probs.mean(0);
    } else {
        const std::int64_t layers = std::int64_t(m_routerLogits->size());
        const auto m = attention_mask.to(logits.device()).to(torch::kFloat32).reshape({1, -1}).expand({layers, -1}).reshape({-1});
        tokensPerExpert = (expertMask * m.view({-1, 1, 1})).sum(0) / m.sum();
        probPerExpert = (probs * m.view({-1, 1})).sum(0) / m.sum();
    }
    return (tokensPerExpert * probPerExpert.unsqueeze(0)).sum() * double(E);
}

} // namespace lathe
