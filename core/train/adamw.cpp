#include "train/adamw.h"

#include <cmath>
#include <map>

#include <torch/torch.h>

#include "util/error.h"

namespace lathe {

AdamW::AdamW(std::vector<std::pair<std::string, torch::Tensor>> params, AdamWOptions options,
             const std::vector<bool>& decay)
    : m_options(options)
{
    for (std::size_t i = 0; i < params.size(); ++i) {
        Param p;
        p.name = params[i].first;
        p.value = params[i].second;
        p.decay = decay.empty() ? true : decay[i];
        m_params.push_back(std::move(p));
    }
}

void AdamW::zeroGrad()
{
    for (auto& p : m_params)
        if (p.value.grad().defined())
            p.value.mutable_grad() = torch::Tensor();
}

double AdamW::clipGradNorm(double maxNorm)
{
    torch::NoGradGuard noGrad;
    torch::Tensor total;
    for (const auto& p : m_params) {
        const auto& g = p.value.grad();
        if (!g.defined())
            continue;
        auto sq = g.to(torch::kFloat32).pow(2).sum();
        total = total.defined() ? total + sq : sq;
    }
    if (!total.defined())
        return 0;
    const double norm = std::sqrt(total.item<double>());
    if (maxNorm > 0) {
        // torch clamps the coefficient at 1 and always multiplies; multiplying by 1 changes nothing.
        const double coef = maxNorm / (norm + 1e-6);
        if (coef < 1)
            for (auto& p : m_params)
                if (p.value.grad().defined())
                    p.value.mutable_grad().mul_(coef);
    }
    return norm;
}

void AdamW::step(double lr)
{
    torch::NoGradGuard noGrad;
    ++m_step;
    const double b1 = m_options.beta1, b2 = m_options.beta2;
    const double bc1 = 1 - std::pow(b1, double(m_step));
    const double bc2Sqrt = std::sqrt(1 - std::pow(b2, double(m_step)));
    for (auto& p : m_params) {
        const auto& grad = p.value.grad();
        if (!grad.defined())
            continue;
        if (!p.expAvg.defined()) {
            p.expAvg = torch::zeros_like(p.value, torch::MemoryFormat::Preserve);
            p.expAvgSq = torch::zeros_like(p.value, torch::MemoryFormat::Preserve);
        }
        if (p.decay && m_options.weightDecay != 0)
            p.value.mul_(1 - lr * m_options.weightDecay);
        p.expAvg.lerp_(grad, 1 - b1);
        p.expAvgSq.mul_(b2).addcmul_(grad, grad, 1 - b2);
        const auto denom = (p.expAvgSq.sqrt() / bc2Sqrt).add_(m_options.eps);
        p.value.addcdiv_(p.expAvg, denom, -lr / bc1);
    }
}

std::vector<std::pair<std::string, torch::Tensor>> AdamW::stateTensors() const
{
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& p : m_params) {
        if (!p.expAvg.defined())
            continue;
        out.emplace_back(p.name + ".exp_avg", p.expAvg.to(torch::kCPU).contiguous());
        out.emplace_back(p.name + ".exp_avg_sq", p.expAvgSq.to(torch::kCPU).contiguous());
    }
    return out;
}

void AdamW::loadState(const std::vector<std::pair<std::string, torch::Tensor>>& tensors, std::int64_t steps,
                      const std::string& origin)
{
    std::map<std::string, torch::Tensor> byName(tensors.begin(), tensors.end());
    for (auto& p : m_params) {
        auto a = byName.find(p.name + ".exp_avg"), b = byName.find(p.name + ".exp_avg_sq");
        if (a == byName.end() && b == byName.end() && steps == 0)
            continue;
        if (a == byName.end() || b == byName.end())
            fail(origin, ": no optimizer state for ", p.name, " (was the checkpoint made with other settings?)");
        if (!a->second.sizes().equals(p.value.sizes()) || !b->second.sizes().equals(p.value.sizes()))
            fail(origin, ": optimizer state for ", p.name, " has shape ", a->second.sizes(), ", the parameter ",
                 p.value.sizes());
        p.expAvg = a->second.to(p.value.options()).clone();
        p.expAvgSq = b->second.to(p.value.options()).clone();
    }
    m_step = steps;
}

} // namespace lathe
