// The data-parallel side of a training run (docs/distributed.md): where this process stands in the job, the local
// workers it starts for nproc_per_node, the communicator, and what the trainer asks of them besides gradients —
// agreeing on setup steps, exchanging each step's summary, sharding the data, relaying and explaining failures.
//
// A run of one worker holds a solo job: every call then does the plain single-process thing.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "dist/communicator.h"
#include "dist/worker_place.h"

namespace lathe {

struct RunSettings;
class WorkerGroup;

class DataParallelJob
{
public:
    /// One worker.
    DataParallelJob();
    /// Stops local workers still running (an error ended this one), restores libtorch's threads, removes the
    /// arguments file the workers read.
    ~DataParallelJob();
    DataParallelJob(const DataParallelJob&) = delete;
    DataParallelJob& operator=(const DataParallelJob&) = delete;

    /// Joins the job the environment or `nproc_per_node` describes: as local rank 0 of nproc_per_node it starts the
    /// others (`argsYaml`: the run's arguments, which they read) with one thread per core. Returns the device this
    /// worker trains on (its local rank's accelerator). Throws lathe::Error when the rendezvous fails.
    torch::Device join(const RunSettings& settings, const std::string& argsYaml,
                       const std::function<void(const std::string&)>& log);

    Communicator& comm() { return *m_comm; }
    int rank() const { return m_comm->rank(); }
    int size() const { return m_comm->size(); }
    bool isMain() const { return m_comm->rank() == 0; }

    /// The first worker does `mainPart` while the others wait (it writes the output folder, fills the token
    /// cache), then the others do `othersPart`; an error on the first stops them all.
    void inTurn(const std::function<void()>& mainPart, const std::function<void()>& othersPart);
    /// `value` summed over the workers.
    double sum(double value);
    /// Each worker's `mine`, in rank order (a byte all-gather of their JSON).
    nlohmann::json gather(const nlohmann::json& mine);
    /// Each worker's `mine`, in rank order.
    std::vector<double> each(double mine);
    /// This worker's shard of an epoch's permutation, as torch's DistributedSampler gives it.
    std::vector<std::size_t> shard(std::vector<std::size_t> order) const;

    /// The local workers' output, each line marked with its rank.
    void relayOutput(const std::function<void(const std::string&)>& log);
    /// `error` with what the job knows about it: the worker that died, the last complete checkpoint of `outputDir`.
    std::string explain(const std::string& error, const std::string& outputDir);
    /// Waits up to `seconds` for the local workers to end; their last words to `log`, a failure as a warning.
    void finish(double seconds, const std::function<void(const std::string&)>& log);

private:
    WorkerPlace m_place;
    std::unique_ptr<Communicator> m_comm;
    std::unique_ptr<WorkerGroup> m_workers; ///< the local workers this process started (nproc_per_node)
    std::string m_workerArgs;               ///< the arguments they read (a temporary YAML file)
    int m_threadsBefore = 0;                ///< libtorch's thread count to restore after a job of local workers
};

} // namespace lathe
