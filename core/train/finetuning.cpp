#include "train/finetuning.h"

#include <algorithm>
#include <set>

#include <torch/torch.h>

#include "util/error.h"

namespace lathe {

FreezeSelection::FreezeSelection(std::int64_t numLayers, std::int64_t trainableLayers,
                                 const std::vector<std::string>& modules, std::vector<std::string> extraModules)
    : m_extra(std::move(extraModules))
{
    std::set<std::int64_t> ids;
    if (trainableLayers > 0)
        for (auto i = std::max<std::int64_t>(0, numLayers - trainableLayers); i < numLayers; ++i)
            ids.insert(i);
    else
        for (std::int64_t i = 0; i < std::min<std::int64_t>(numLayers, -trainableLayers); ++i)
            ids.insert(i);
    for (auto i : ids)
        for (const auto& m : modules)
            m_patterns.push_back(".layers." + std::to_string(i) + "." + (m == "all" ? "" : m + "."));
}

bool FreezeSelection::trains(const std::string& name) const
{
    for (const auto& p : m_patterns)
        if (name.find(p) != std::string::npos)
            return true;
    if (name.find(".layers.") == std::string::npos)
        for (const auto& m : m_extra)
            if (name.find(m) != std::string::npos)
                return true;
    return false;
}

namespace {

bool isBiasName(const std::string& name)
{
    return name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
}

} // namespace

bool decaysWeight(const std::string& name)
{
    return !isBiasName(name) && name.find("norm") == std::string::npos;
}

TrainableWeights chooseTrainableWeights(CausalLM& model, const RunSettings& s,
                                        const std::function<void(const std::string&)>& log)
{
    for (auto& p : model->parameters())
        p.requires_grad_(false);
    TrainableWeights out;
    // Trainable model weights in float32 (LLaMA-Factory upcasts them) unless pure_bf16, in memory of their own.
    auto train = [&](const std::string& name, torch::Tensor& param) {
        torch::NoGradGuard noGrad;
        param.set_data(param.to(s.pureBf16 ? torch::kBFloat16 : torch::kFloat32).clone());
        param.requires_grad_(true);
        out.params.emplace_back(name, param);
    };
    if (s.finetuningType == "lora") {
        // Earlier adapters are merged; the last one is trained further unless create_new_adapter.
        for (std::size_t i = 0; i < s.adapters.size(); ++i) {
            auto attached = attachLoraAdapter(model, s.adapters[i]);
            if (i + 1 == s.adapters.size() && !s.createNewAdapter) {
                out.adapter = std::move(attached);
                break;
            }
            mergeLoraAdapters(model);
            log("Merged adapter " + s.adapters[i]);
        }
        if (out.adapter.parameters.empty())
            out.adapter = createLoraAdapter(model, s.lora);
        else
            log("Continuing to train adapter " + s.adapters.back());
        for (auto& [name, tensor] : out.adapter.parameters) {
            torch::NoGradGuard noGrad;
            if (s.pureBf16)
                tensor.set_data(tensor.to(torch::kBFloat16));
            tensor.requires_grad_(true);
            out.params.emplace_back(name, tensor);
        }
        setLoraTraining(model, true);
    } else if (s.finetuningType == "full") {
        for (auto& item : model->named_parameters())
            train(item.key(), item.value());
    } else if (s.finetuningType == "freeze") {
        const FreezeSelection chosen(model->config().num_hidden_layers, s.freezeLayers, s.freezeModules,
                                     s.freezeExtra);
        for (auto& item : model->named_parameters())
            if (chosen.trains(item.key()))
                train(item.key(), item.value());
        if (out.params.empty()) {
            std::string modules;
            for (const auto& m : s.freezeModules)
                modules += (modules.empty() ? "" : ",") + m;
            fail("freeze_trainable_modules: ", modules, " selects no parameter of the model");
        }
    } else {
        fail("finetuning_type: \"", s.finetuningType, "\" is not supported");
    }
    return out;
}

void reinitialiseWeights(CausalLM& model, std::uint64_t seed)
{
    torch::NoGradGuard noGrad;
    torch::manual_seed(seed);
    const double std = model->config().initializer_range;
    for (auto& item : model->named_parameters()) {
        auto& w = item.value();
        auto fresh = item.key().find("norm") != std::string::npos ? torch::ones_like(w)
                     : isBiasName(item.key())                    ? torch::zeros_like(w)
                                                                 : torch::randn(w.sizes(), torch::kFloat32).mul_(std).to(w.dtype());
        w.set_data(fresh.to(w.device()));
    }
}

} // namespace lathe
