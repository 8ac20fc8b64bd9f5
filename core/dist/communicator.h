// The collectives a data-parallel run exchanges between its workers, on libtorch's own distributed engine
// (c10d): Gloo between CPU processes, NCCL between CUDA devices, HCCL between Ascend NPUs (docs/distributed.md).
//
// The trainer sees only this interface. One worker is soloCommunicator(): every collective leaves its
// tensors as they are, so a single-device run takes the same code path with no cost. connectWorkers() makes the
// rendezvous (rank 0 serves a TCPStore at MASTER_ADDR:MASTER_PORT) and the backend's process group.
//
// Collectives are called by every worker in the same order. A worker that dies or stops answering makes the
// others' next collective throw lathe::Error within the timeout (Gloo notices a closed connection at once).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <torch/types.h>

namespace lathe {

struct WorkerPlace;

class Communicator
{
public:
    /// An operation started in the background; wait() blocks until it is done and throws when it failed.
    class Pending
    {
    public:
        virtual ~Pending() = default;
        virtual void wait() = 0;
    };

    virtual ~Communicator() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    virtual std::string backend() const = 0; ///< "solo", "gloo", "nccl", "hccl"
    /// Where the tensors given to collectives must be: the CPU for Gloo, the worker's device for NCCL and HCCL.
    virtual torch::Device device() const { return torch::kCPU; }

    /// Sums `t` over the workers, in place, in the background.
    virtual std::unique_ptr<Pending> allReduceSumAsync(torch::Tensor t) = 0;
    void allReduceSum(torch::Tensor t) { allReduceSumAsync(std::move(t))->wait(); }
    /// Largest value over the workers, in place.
    virtual void allReduceMax(torch::Tensor t) = 0;
    /// `input` (contiguous, size() equal chunks) summed over the workers; chunk rank() lands in `output` when the
    /// returned operation is waited for. `input` may be reused at once (it is copied); `output` must live on.
    virtual std::unique_ptr<Pending> reduceScatterSumAsync(const torch::Tensor& input, torch::Tensor output) = 0;
    void reduceScatterSum(const torch::Tensor& input, torch::Tensor& output)
    {
        reduceScatterSumAsync(input, output)->wait();
    }
    /// Every worker's `input` (contiguous, same numel everywhere) into `output`, in rank order.
    virtual void allGather(const torch::Tensor& input, torch::Tensor& output) = 0;
    /// `t` of worker `root` copied to every worker.
    virtual void broadcast(torch::Tensor t, int root) = 0;
    virtual void barrier() = 0;

    /// Bytes this worker has sent through collectives so far (the algorithm's, not the wire's framing).
    std::int64_t bytesSent() const { return m_bytesSent; }
    /// Seconds this worker has spent blocked on collectives (waiting for the others and the transfer).
    double secondsWaiting() const { return m_secondsWaiting; }

protected:
    std::int64_t m_bytesSent = 0;
    double m_secondsWaiting = 0;
};

/// One worker: collectives change nothing.
std::unique_ptr<Communicator> soloCommunicator();

/// Joins the job at `place` on `device` (its type picks the backend). `timeout` bounds the rendezvous and every
/// collective. Throws lathe::Error naming MASTER_ADDR:MASTER_PORT when the rendezvous fails, or naming the
/// backend when this build lacks it.
std::unique_ptr<Communicator> connectWorkers(const WorkerPlace& place, const torch::Device& device,
                                             std::chrono::milliseconds timeout);

/// Whether this build can connect workers on devices of `type` (Gloo always; NCCL and HCCL when built with them).
bool backendAvailable(torch::DeviceType type);

} // namespace lathe
