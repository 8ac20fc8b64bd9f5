// AdamW as torch.optim.AdamW computes it (decoupled weight decay, bias-corrected moments), over named
// parameters so that its state can be saved by name and restored exactly on resume.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace lathe {

struct AdamWOptions
{
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    double weightDecay = 0.0;
};

class AdamW
{
public:
    struct Param
    {
        std::string name;
        torch::Tensor value;
        bool decay = true; ///< transformers skips weight decay for biases and norm weights
        torch::Tensor expAvg, expAvgSq;
    };

    AdamW(std::vector<std::pair<std::string, torch::Tensor>> params, AdamWOptions options,
          const std::vector<bool>& decay = {});

    /// One update with learning rate `lr`; parameters without a gradient are skipped.
    void step(double lr);
    void zeroGrad();
    /// Clips the gradients' total L2 norm to `maxNorm` (clip_grad_norm_) and returns the norm before clipping;
    /// maxNorm <= 0 only measures.
    double clipGradNorm(double maxNorm);

    std::int64_t steps() const { return m_step; }
    const std::vector<Param>& params() const { return m_params; }
    std::vector<Param>& params() { return m_params; }

    /// Moments by "<name>.exp_avg" / "<name>.exp_avg_sq" (CPU copies), for a checkpoint.
    std::vector<std::pair<std::string, torch::Tensor>> stateTensors() const;
    /// Restores moments saved by stateTensors(); throws lathe::Error naming a missing or mis-shaped tensor.
    void loadState(const std::vector<std::pair<std::string, torch::Tensor>>& tensors, std::int64_t steps,
                   const std::string& origin);

private:
    std::vector<Param> m_params;
    AdamWOptions m_options;
    std::int64_t m_step = 0;
};

} // namespace lathe
