#include "lora/lora_adapter.h"

#include <cmath>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/safetensors.h"
#include "kernels/inference_ops.h"
#include "kernels/kernel_paths.h"
#include "kernels/thin_products.h"
#include "util/error.h"
#include "util/file_util.h"
#include "util/json_text.h"

namespace lathe {

namespace fs = std::filesystem;

double LoraConfig::scaling() const
{
    return useRslora ? alpha / std::sqrt(double(r)) : alpha / double(r);
}

LoraConfig LoraConfig::fromDir(const std::string& dir)
{
    const std::string path = (std::filesystem::path(dir) / "adapter_config.json").string();
    if (!std::filesystem::exists(path))
        fail(dir, ": no adapter_config.json (not a PEFT adapter folder)");
    nlohmann::json j;
    try {
        j = parseJson<nlohmann::json>(readTextFile(path), path);
    } catch (const nlohmann::json::parse_error& e) {
        fail(path, ": not valid JSON: ", e.what());
    }
    LoraConfig c;
    try {
        if (j.value("peft_type", "LORA") != "LORA")
            fail(path, ": peft_type \"", j["peft_type"].get<std::string>(), "\" is not LORA");
        c.r = j.at("r").get<std::int64_t>();
        c.alpha = j.value("lora_alpha", double(c.r));
        c.dropout = j.value("lora_dropout", 0.0);
        c.useRslora = j.value("use_rslora", false);
        c.useDora = j.value("use_dora", false);
        if (j.value("fan_in_fan_out", false))
            fail(path, ": fan_in_fan_out adapters (GPT-2 style Conv1D) are not supported");
        const auto& t = j.at("target_modules");
        if (t.is_string())
            c.targetModules = {t.get<std::string>()};
        else
            c.targetModules = t.get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception& e) {
        fail(path, ": ", e.what());
    }
    if (c.r <= 0)
        fail(path, ": r must be positive");
    return c;
}

LoraLinearAdapter::LoraLinearAdapter(torch::Tensor a, torch::Tensor b, torch::Tensor m, double s)
    : loraA(std::move(a)), loraB(std::move(b)), magnitude(std::move(m)), scaling(s)
{
}

namespace {

// B (A x) for float32 A [r, in], B [out, r] on the thin kernels (kernels/thin_products.h): one autograd node
// whose backward forms dx, dA and dB with the same kernels.
struct ThinLora : public torch::autograd::Function<ThinLora>
{
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                                 const torch::Tensor& a, const torch::Tensor& b)
    {
        const auto t = thinRowDots(x, a);
        const auto bt = b.t().contiguous();
        ctx->save_for_backward({x, a, bt, t});
        return thinRowCombos(t, bt);
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const auto &x = saved[0], &a = saved[1], &bt = saved[2], &t = saved[3];
        const auto g = grads[0].to(torch::kFloat32).contiguous();
        const auto dt = thinRowDots(g, bt); // g B
        torch::Tensor dx, da, db;
        if (ctx->needs_input_grad(0))
            dx = thinRowCombos(dt, a);
        if (ctx->needs_input_grad(1))
            da = thinColumnSums(dt, x);
        if (ctx->needs_input_grad(2))
            db = thinColumnSums(t, g).t().contiguous();
        return {dx, da, db};
    }
};

// PEFT's whole LoRA term, base + scaling * B (A x), for x and base in the model's dtype (bf16 or float32): the
// thin kernels read x and the output gradient as they are, so no float32 copy of either is made or kept, and the
// sum is added to the base and rounded once in the same pass. One autograd node; its backward hands the base
// the output gradient unchanged (PEFT's `result + ...` then `.to(dtype)`) and forms dx in x's dtype, dA and dB.
struct ThinLoraOutput : public torch::autograd::Function<ThinLoraOutput>
{
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& base,
                                 const torch::Tensor& x, const torch::Tensor& a, const torch::Tensor& b,
                                 double scaling)
    {
        const auto x2 = x.reshape({-1, x.size(-1)}).contiguous();
        const auto base2 = base.reshape({-1, base.size(-1)}).contiguous();
        const auto ac = a.contiguous(), bt = b.t().contiguous();
        const auto t = thinRowDots(x2, ac);
        ctx->save_for_backward({x2, ac, bt, t});
        ctx->saved_data["scaling"] = scaling;
        ctx->saved_data["x_sizes"] = x.sizes();
        return thinRowCombos(t, bt, scaling, base2, base.scalar_type()).view(base.sizes());
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const auto &x = saved[0], &a = saved[1], &bt = saved[2], &t = saved[3];
        const double scaling = ctx->saved_data["scaling"].toDouble();
        const auto g = grads[0].reshape({-1, grads[0].size(-1)}).contiguous();
        const auto dt = thinRowDots(g, bt, scaling); // (scaling g) B
        torch::Tensor dx, da, db;
        if (ctx->needs_input_grad(1))
            dx = thinRowCombos(dt, a, 1.0, {}, x.scalar_type()).view(ctx->saved_data["x_sizes"].toIntVector());
        if (ctx->needs_input_grad(2))
            da = thinColumnSums(dt, x);
        if (ctx->needs_input_grad(3))
            db = thinColumnSums(t, g, scaling).t().contiguous();
        return {ctx->needs_input_grad(0) ? grads[0] : torch::Tensor(), dx, da, db, torch::Tensor()};
    }
};

} // namespace

torch::Tensor thinLoraOutput(const torch::Tensor& base, const torch::Tensor& x, const torch::Tensor& a,
                             const torch::Tensor& b, double scaling)
{
    const auto type = base.scalar_type();
    if (!x.device().is_cpu() || !base.device().is_cpu() || (type != torch::kBFloat16 && type != torch::kFloat32) ||
        x.scalar_type() != type || a.scalar_type() != torch::kFloat32 || b.scalar_type() != torch::kFloat32 ||
        x.dim() < 1 || base.dim() != x.dim() || kernelPaths().lora != ThinPath::Lathe)
        return {};
    return ThinLoraOutput::apply(base, x, a, b, scaling);
}

torch::Tensor loraProducts(const torch::Tensor& x, const torch::Tensor& a, const torch::Tensor& b)
{
    if (x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && a.scalar_type() == torch::kFloat32 &&
        b.scalar_type() == torch::kFloat32 && x.dim() >= 1 && kernelPaths().lora == ThinPath::Lathe) {
        auto sizes = x.sizes().vec();
        sizes.back() = b.size(0);
        return ThinLora::apply(x.reshape({-1, x.size(-1)}).contiguous(), a.contiguous(), b.contiguous()).view(sizes);
    }
    return torch::linear(torch::linear(x, a), b);
}

torch::Tensor LoraLinearAdapter::apply(const torch::Tensor& x, const torch::Tensor& weight,
                                       const torch::Tensor& bias, const torch::Tensor& base)
{
    // x [..., in]; A [r, in]; B [out, r]; base [..., out].
    if (!enabled)
        return base;
    const bool dropped = training && dropout > 0;
    if (!magnitude.defined() && !dropped)
        if (auto out = thinLoraOutput(base, x, loraA, loraB, scaling); out.defined())
            return out;
    auto xa = x.to(loraA.scalar_type());
    if (dropped)
        xa = torch::dropout(xa, dropout, /*train=*/true);
    const auto lora = loraProducts(xa, loraA, loraB);
    if (!magnitude.defined()) {
        if (auto fused = fusedScaledAdd(base, lora, scaling); fused.defined()) // one pass each way
            return fused;
        return (base + lora * scaling).to(base.scalar_type()); // PEFT: the float32 sum, cast back
    }
    // DoRA (PEFT DoraLinearLayer): the row norms of W + scaling * B A, detached, rescale the output.
    torch::Tensor weightNorm;
    {
        torch::NoGradGuard noGrad;
        const auto merged = weight.to(loraA.scalar_type()) + scaling * torch::matmul(loraB, loraA);
        weightNorm = merged.norm(2, /*dim=*/1);
    }
    const auto scale = magnitude / weightNorm; // [out]
    // With dropout PEFT recomputes the base product on the dropped input (DoraLinearLayer, base_result None).
    torch::Tensor baseNoBias;
    if (dropped) {
        baseNoBias = torch::linear(xa, weight.to(loraA.scalar_type()));
    } else {
        baseNoBias = base.to(loraA.scalar_type());
        if (bias.defined())
            baseNoBias = baseNoBias - bias.to(loraA.scalar_type());
    }
    const auto delta = (scale - 1) * baseNoBias + scale * lora * scaling;
    return base + delta.to(base.scalar_type());
}

std::int64_t mergeLoraAdapters(CausalLM& model)
{
    torch::NoGradGuard noGrad;
    std::int64_t merged = 0;
    for (const auto& item : model->named_modules()) {
        auto linear = std::dynamic_pointer_cast<LinearImpl>(item.value());
        if (!linear || !linear->adapter)
            continue;
        auto lora = std::dynamic_pointer_cast<LoraLinearAdapter>(linear->adapter);
        if (!lora)
            fail("internal error: ", item.key(), " has an adapter that is not LoRA");
        auto w = linear->weight.to(torch::kFloat32) + lora->scaling * torch::matmul(lora->loraB, lora->loraA);
        if (lora->magnitude.defined())
            w = (lora->magnitude / w.norm(2, 1)).unsqueeze(1) * w;
        linear->weight.set_data(w.to(linear->weight.scalar_type()).contiguous());
        linear->adapter.reset();
        ++merged;
    }
    return merged;
}

std::vector<std::string> resolveLoraTargets(CausalLM& model, const std::vector<std::string>& targets)
{
    const std::set<std::string> wanted(targets.begin(), targets.end());
    const bool all = wanted.count("all") || wanted.count("all-linear");
    std::vector<std::string> out;
    std::set<std::string> matched;
    for (const auto& item : model->named_modules()) {
        if (!std::dynamic_pointer_cast<LinearImpl>(item.value()))
            continue;
        const std::string& name = item.key();
        const std::string leaf = name.substr(name.rfind('.') + 1);
        if (all ? name == "lm_head" : !wanted.count(leaf))
            continue;
        out.push_back(name);
        matched.insert(leaf);
    }
    if (!all)
        for (const auto& t : wanted)
            if (!matched.count(t))
                fail("lora_target: \"", t, "\" names no linear layer of the model (it has q_proj, k_proj, v_proj, ",
                     "o_proj, gate_proj, up_proj, down_proj; or use all)");
    if (out.empty())
        fail("lora_target selects no linear layer");
    return out;
}

AttachedAdapter createLoraAdapter(CausalLM& model, const LoraConfig& config)
{
    if (config.r <= 0)
        fail("lora_rank must be positive (got ", config.r, ")");
    AttachedAdapter out;
    out.config = config;
    const auto names = resolveLoraTargets(model, config.targetModules);
    const std::set<std::string> selected(names.begin(), names.end());
    std::set<std::string> leaves;
    torch::NoGradGuard noGrad;
    for (const auto& item : model->named_modules()) {
        if (!selected.count(item.key()))
            continue;
        auto linear = std::dynamic_pointer_cast<LinearImpl>(item.value());
        const auto in = linear->weight.size(1), outDim = linear->weight.size(0);
        const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(linear->weight.device());
        const double bound = 1.0 / std::sqrt(double(in));
        auto a = torch::empty({config.r, in}, torch::kFloat32).uniform_(-bound, bound).to(opts.device());
        auto b = torch::zeros({outDim, config.r}, opts);
        torch::Tensor magnitude;
        if (config.useDora)
            magnitude = linear->weight.to(torch::kFloat32).norm(2, 1).contiguous();
        auto adapter = std::make_shared<LoraLinearAdapter>(a.requires_grad_(true), b.requires_grad_(true),
                                                           magnitude.defined() ? magnitude.requires_grad_(true)
                                                                               : magnitude,
                                                           config.scaling());
        adapter->dropout = config.dropout;
        linear->adapter = adapter;
        const std::string prefix = "base_model.model." + item.key();
        out.parameters.emplace_back(prefix + ".lora_A.weight", adapter->loraA);
        out.parameters.emplace_back(prefix + ".lora_B.weight", adapter->loraB);
        if (adapter->magnitude.defined())
            out.parameters.emplace_back(prefix + ".lora_magnitude_vector", adapter->magnitude);
        leaves.insert(item.key().substr(item.key().rfind('.') + 1));
        ++out.modules;
    }
    // adapter_config.json lists the leaf names actually adapted, as PEFT resolves "all-linear".
    out.config.targetModules.assign(leaves.begin(), leaves.end());
    return out;
}

void saveLoraAdapter(const std::string& dir, const AttachedAdapter& adapter, const std::string& baseModel)
{
    fs::create_directories(dir);
    const auto& c = adapter.config;
    nlohmann::ordered_json j = {
        {"alpha_pattern", nlohmann::json::object()},
        {"auto_mapping", nullptr},
        {"base_model_name_or_path", baseModel},
        {"bias", "none"},
        {"fan_in_fan_out", false},
        {"inference_mode", true},
        {"init_lora_weights", true},
        {"layer_replication", nullptr},
        {"layers_pattern", nullptr},
        {"layers_to_transform", nullptr},
        {"loftq_config", nlohmann::json::object()},
        {"lora_alpha", c.alpha},
        {"lora_dropout", c.dropout},
        {"megatron_config", nullptr},
        {"megatron_core", "megatron.core"},
        {"modules_to_save", nullptr},
        {"peft_type", "LORA"},
        {"r", c.r},
        {"rank_pattern", nlohmann::json::object()},
        {"revision", nullptr},
        {"target_modules", c.targetModules},
        {"task_type", "CAUSAL_LM"},
        {"use_dora", c.useDora},
        {"use_rslora", c.useRslora},
    };
    // PEFT writes lora_alpha as the integer it usually is.
    if (c.alpha == std::floor(c.alpha))
        j["lora_alpha"] = static_cast<std::int64_t>(c.alpha);
    NamedTensors tensors;
    for (const auto& [name, t] : adapter.parameters)
        tensors.emplace_back(name, t.detach().to(torch::kCPU).to(torch::kFloat32).contiguous());
    saveSafetensors((fs::path(dir) / "adapter_model.safetensors").string(), tensors);
    writeTextFileAtomic((fs::path(dir) / "adapter_config.json").string(), j.dump(2) + "\n");
}

void setLoraTraining(CausalLM& model, bool training)
{
    for (const auto& item : model->named_modules())
        if (auto linear = std::dynamic_pointer_cast<LinearImpl>(item.value()))
            if (auto lora = std::dynamic_pointer_cast<LoraLinearAdapter>(linear->adapter))
                lora->training = training;
}

void setLoraEnabled(CausalLM& model, bool enabled)
{
    for (const auto& item : model->named_modules())
        if (auto linear = std::dynamic_pointer_cast<LinearImpl>(item.value()))
            if (auto lora = std::dynamic_pointer_cast<LoraLinearAdapter>(linear->adapter))
                lora->enabled = enabled;
}

void detachLoraAdapters(CausalLM& model)
{
    for (const auto& item : model->named_modules())
        if (auto linear = std::dynamic_pointer_cast<LinearImpl>(item.value()))
            linear->adapter.reset();
}

AttachedAdapter attachLoraAdapter(CausalLM& model, const std::string& adapterDir)
{
    AttachedAdapter out;
    out.config = LoraConfig::fromDir(adapterDir);
    const auto store = WeightStore::openDir(adapterDir, "adapter_model");
    const double scaling = out.config.scaling();
    const std::set<std::string> targets(out.config.targetModules.begin(), out.config.targetModules.end());
    const bool all = targets.count("all-linear") != 0;
    std::set<std::string> used;
    torch::NoGradGuard noGrad;
    for (const auto& item : model->named_modules()) {
        auto linear = std::dynamic_pointer_cast<LinearImpl>(item.value());
        if (!linear)
            continue;
        const std::string& name = item.key(); // "model.layers.0.self_attn.q_proj"
        const std::string leaf = name.substr(name.rfind('.') + 1);
        if (!all && !targets.count(leaf))
            continue;
        if (all && name == "lm_head")
            continue;
        const std::string prefix = "base_model.model." + name;
        const std::string aKey = prefix + ".lora_A.weight", bKey = prefix + ".lora_B.weight";
        if (!store.contains(aKey) || !store.contains(bKey))
            fail(store.description(), ": no LoRA weights for ", name, " (", aKey,
                 "), which adapter_config.json targets");
        auto a = store.get(aKey).to(torch::kFloat32).clone();
        auto b = store.get(bKey).to(torch::kFloat32).clone();
        const auto in = linear->weight.size(1), outDim = linear->weight.size(0);
        if (a.dim() != 2 || a.size(0) != out.config.r || a.size(1) != in)
            fail(store.fileOf(aKey), ": ", aKey, " has shape ", a.sizes(), " but the base layer needs [",
                 out.config.r, ", ", in, "] (is this adapter for another model?)");
        if (b.dim() != 2 || b.size(0) != outDim || b.size(1) != out.config.r)
            fail(store.fileOf(bKey), ": ", bKey, " has shape ", b.sizes(), " but the base layer needs [",
                 outDim, ", ", out.config.r, "] (is this adapter for another model?)");
        torch::Tensor magnitude;
        if (out.config.useDora) {
            const std::string mKey = prefix + ".lora_magnitude_vector";
            if (!store.contains(mKey))
                fail(store.description(), ": use_dora is set but ", mKey, " is missing");
            magnitude = store.get(mKey).to(torch::kFloat32).clone().reshape({-1});
            if (magnitude.size(0) != outDim)
                fail(store.fileOf(mKey), ": ", mKey, " has ", magnitude.size(0), " values, the layer has ",
                     outDim, " outputs");
            used.insert(mKey);
        }
        auto lora = std::make_shared<LoraLinearAdapter>(
            a.to(linear->weight.device()), b.to(linear->weight.device()),
            magnitude.defined() ? magnitude.to(linear->weight.device()) : magnitude, scaling);
        lora->dropout = out.config.dropout;
        linear->adapter = lora;
        const auto& adapter = static_cast<const LoraLinearAdapter&>(*linear->adapter);
        out.parameters.emplace_back(aKey, adapter.loraA);
        out.parameters.emplace_back(bKey, adapter.loraB);
        if (adapter.magnitude.defined())
            out.parameters.emplace_back(prefix + ".lora_magnitude_vector", adapter.magnitude);
        used.insert(aKey);
        used.insert(bKey);
        ++out.modules;
    }
    for (const auto& name : store.names())
        if (!used.count(name))
            fail(store.fileOf(name), ": tensor \"", name, "\" matches no targeted layer of the model");
    if (out.modules == 0)
        fail(adapterDir, ": target_modules match no linear layer of the model");
    return out;
}

void loadInferenceAdapters(CausalLM& model, const std::vector<std::string>& adapterDirs, bool mergeAll)
{
    for (std::size_t i = 0; i < adapterDirs.size(); ++i) {
        attachLoraAdapter(model, adapterDirs[i]);
        if (mergeAll || i + 1 < adapterDirs.size())
            mergeLoraAdapters(model);
    }
}

} // namespace lathe
