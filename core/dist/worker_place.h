// Where this process stands in a data-parallel job, read as torchrun and Slurm publish it, and how a job of
// several local workers is started (docs/distributed.md).
//
// torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT in each worker;
// LLaMA-Factory's FORCE_TORCHRUN launcher adds NNODES and NODE_RANK; Slurm's srun sets SLURM_PROCID,
// SLURM_NTASKS, SLURM_LOCALID and SLURM_NNODES. A process that finds none of them is a single worker, or the
// first of `nproc_per_node` local workers that it starts itself (dist/worker_group.h).
#pragma once

#include <map>
#include <optional>
#include <string>

namespace lathe {

struct WorkerPlace
{
    int rank = 0;      ///< global rank
    int worldSize = 1; ///< workers in the job
    int localRank = 0; ///< rank on this machine: the device index on a GPU or NPU node
    int localWorldSize = 1;
    int nodeRank = 0, nodes = 1;
    std::string masterAddr = "127.0.0.1"; ///< where rank 0's rendezvous store listens
    int masterPort = 29500;
    std::string source; ///< "torchrun", "slurm", "launcher" or "" (one worker)

    bool distributed() const { return worldSize > 1; }
    /// "rank 1 of 2 (node 0, local rank 1)"
    std::string describe() const;
};

/// This process's environment variables (environ) by name.
std::map<std::string, std::string> processEnvironment();

/// The place the environment gives this process (`env`: a copy of environ; the process's own when empty).
/// Throws lathe::Error naming the variable when a value is malformed or inconsistent (RANK >= WORLD_SIZE).
WorkerPlace workerPlaceFromEnvironment(const std::map<std::string, std::string>& env = {});

/// The place of local worker `localRank` of `nprocPerNode` started by the worker `self` (local rank 0 on its
/// node): NNODES / NODE_RANK multiply the job as LLaMA-Factory's launcher does.
WorkerPlace localWorkerPlace(const WorkerPlace& self, int nprocPerNode, int localRank);

/// The environment variables a worker at `place` is started with (torchrun's names).
std::map<std::string, std::string> workerEnvironment(const WorkerPlace& place);

/// How many devices of `deviceType` ("cuda" or "npu") CUDA_VISIBLE_DEVICES / ASCEND_RT_VISIBLE_DEVICES make
/// visible, when the variable is set.
std::optional<int> visibleDeviceCount(const std::string& deviceType);

} // namespace lathe
