#include "lora/lora_adapter.h"

#include <cmath>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/safetensors.h"
#include "util/error.h"
#include "util/file_util.h"

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
        j = nlohmann::json::parse(readTextFile(path));
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

torch::Tensor LoraLinearAdapter::apply(const torch::Tensor& x, const torch::Tensor& weight,
                                       const torch::Tensor& bias, const torch::Tensor& base)
{
    // x [..., in]; A [r, in]; B [out, r]; base [..., out].
    const auto xa = x.to(loraA.scalar_type());
    const auto lora = torch::linear(torch::linear(xa, loraA), loraB);
    if (!magnitude.defined())
        return base + (lora * scaling).to(base.scalar_type());
    // DoRA (PEFT DoraLinearLayer): the row norms of W + scaling * B A, detached, rescale the output.
    torch::Tensor weightNorm;
    {
        torch::NoGradGuard noGrad;
        const auto merged = weight.to(loraA.scalar_type()) + scaling * torch::matmul(loraB, loraA);
        weightNorm = merged.norm(2, /*dim=*/1);
    }
    const auto scale = magnitude / weightNorm; // [out]
    auto baseNoBias = base.to(loraA.scalar_type());
    if (bias.defined())
        baseNoBias = baseNoBias - bias.to(loraA.scalar_type());
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
        linear->adapter = std::make_shared<LoraLinearAdapter>(
            a.to(linear->weight.device()), b.to(linear->weight.device()),
            magnitude.defined() ? magnitude.to(linear->weight.device()) : magnitude, scaling);
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

} // namespace lathe
