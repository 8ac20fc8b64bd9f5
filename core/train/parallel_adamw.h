// AdamW over the workers of a data-parallel run: the gradients of an update summed over the workers, and, for
// DeepSpeed's ZeRO stages 1 and 2, the optimizer state partitioned between them (docs/distributed.md).
//
// The trainable tensors are laid out in buckets of about `bucketBytes` (PyTorch DDP's 25 MB), in the reverse
// of their order: the order the backward pass produces their gradients. During the last micro-batch's
// backward, each parameter's gradient is copied into its bucket as it is computed, and a full bucket is
// all-reduced (stages 0 and 1) or reduce-scattered (stage 2) in the background while the backward pass goes on.
//
// - Stage 0: every worker holds the summed gradients and the whole AdamW state, and steps every parameter.
// - Stage 1: the summed gradients everywhere, but each worker keeps the AdamW moments of its 1/N of every
//   bucket only, steps that part, and the parts are all-gathered into every worker's parameters.
// - Stage 2: as stage 1, but each full bucket is reduce-scattered during the backward pass: each worker
//   receives the sum of its part only, and the full gradients are freed before the optimizer step.
//
// With one worker (soloCommunicator) this is the plain AdamW, step for step. Checkpoints hold the whole state
// by parameter name whatever the stage and worker count: saving gathers it, resuming takes each worker's part.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "train/adamw.h"

namespace lathe {

class Communicator;

struct ParallelOptions
{
    int zeroStage = 0;                      ///< 0, 1 or 2
    std::int64_t bucketBytes = 25ll << 20; ///< ddp_bucket_cap_mb
};

class ParallelAdamW
{
public:
    ParallelAdamW(Communicator& comm, std::vector<std::pair<std::string, torch::Tensor>> params,
                  AdamWOptions options, const std::vector<bool>& decay, ParallelOptions parallel = {});
    ~ParallelAdamW();
    ParallelAdamW(const ParallelAdamW&) = delete;
    ParallelAdamW& operator=(const ParallelAdamW&) = delete;

    /// Copies worker 0's parameter values to every worker (a run starts from the same weights everywhere).
    void broadcastParameters();
    /// Call before the backward pass of an update's last micro-batch: its gradients are reduced as they come.
    void beginLastBackward();
    /// Call after it: completes the reductions. Then every worker holds the update's summed gradients (stages
    /// 0 and 1) or the sum of its own part (stage 2).
    void finishBackward();

    /// clip_grad_norm_ over the whole gradient (the parts' squares summed over the workers under sharding).
    double clipGradNorm(double maxNorm);
    void step(double lr);
    void zeroGrad();
    std::int64_t steps() const;

    /// The whole state by "<name>.exp_avg" / "<name>.exp_avg_sq" as AdamW::stateTensors gives it. Under
    /// sharding every worker must call it (it gathers the parts).
    std::vector<std::pair<std::string, torch::Tensor>> stateTensors();
    /// Restores state saved by stateTensors() with any number of workers; each keeps its part.
    void loadState(const std::vector<std::pair<std::string, torch::Tensor>>& tensors, std::int64_t steps,
                   const std::string& origin);

    /// Bytes of AdamW moments this worker holds (after the first step).
    std::int64_t stateBytes() const;
    int zeroStage() const { return m_parallel.zeroStage; }

private:
    struct Bucket;
    void fillSlot(Bucket& b, std::size_t member);
    void launch(Bucket& b);
    void onGradient(std::size_t param, const torch::Tensor& grad);
    bool sharded() const { return m_parallel.zeroStage > 0 && m_workers > 1; }

    Communicator& m_comm;
    int m_workers = 1, m_rank = 0;
    ParallelOptions m_parallel;
    std::vector<std::pair<std::string, torch::Tensor>> m_params;
    std::unique_ptr<AdamW> m_adam; ///< over the parameters, or over this worker's segments of them (sharded)
    std::vector<std::unique_ptr<Bucket>> m_buckets;
    std::vector<std::pair<std::size_t, std::size_t>> m_place; ///< parameter -> (bucket, member)
    std::vector<unsigned> m_hooks;
    std::vector<bool> m_seen, m_hadGrad;
    bool m_armed = false;
};

} // namespace lathe
