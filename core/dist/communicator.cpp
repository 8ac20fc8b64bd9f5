#include "dist/communicator.h"

#include <sstream>

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#ifdef LATHE_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef LATHE_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#ifdef LATHE_WITH_HCCL
#include <torch_npu/csrc/distributed/ProcessGroupHCCL.hpp>
#endif

#include "dist/worker_place.h"
#include "util/error.h"

namespace lathe {

namespace {

/// The first line of a c10d / Gloo error (the rest is a C++ backtrace).
std::string firstLine(const std::exception& e)
{
    std::string what = e.what();
    if (const auto* c10 = dynamic_cast<const c10::Error*>(&e))
        what = c10->what_without_backtrace();
    const auto nl = what.find('\n');
    return nl == std::string::npos ? what : what.substr(0, nl);
}

class Solo final : public Communicator
{
public:
    class Done final : public Pending
    {
    public:
        void wait() override {}
    };
    int rank() const override { return 0; }
    int size() const override { return 1; }
    std::string backend() const override { return "solo"; }
    std::unique_ptr<Pending> allReduceSumAsync(torch::Tensor) override { return std::make_unique<Done>(); }
    void allReduceMax(torch::Tensor) override {}
    std::unique_ptr<Pending> reduceScatterSumAsync(const torch::Tensor& input, torch::Tensor output) override
    {
        if (!output.is_same(input))
            output.copy_(input.view_as(output));
        return std::make_unique<Done>();
    }
    void allGather(const torch::Tensor& input, torch::Tensor& output) override
    {
        if (!output.is_same(input))
            output.copy_(input.view_as(output));
    }
    void broadcast(torch::Tensor, int) override {}
    void barrier() override {}
};

// On the backend's own class: libtorch 1.13's process groups derive from c10d::ProcessGroup, libtorch 2.x's from
// c10d::Backend; their collectives have the same signatures.
template <class Group>
class ProcessGroupCommunicator final : public Communicator
{
public:
    ProcessGroupCommunicator(c10::intrusive_ptr<c10d::Store> store, c10::intrusive_ptr<Group> group,
                             std::string backend, bool nativeReduceScatter, torch::Device device)
        : m_store(std::move(store)), m_group(std::move(group)), m_backend(std::move(backend)),
          m_nativeReduceScatter(nativeReduceScatter), m_device(device)
    {
    }
    torch::Device device() const override { return m_device; }

    class Work final : public Pending
    {
    public:
        Work(c10::intrusive_ptr<c10d::Work> work, std::string what, std::string backend, double* waited)
            : m_work(std::move(work)), m_what(std::move(what)), m_backend(std::move(backend)), m_waited(waited)
        {
        }
        void wait() override
        {
            if (!m_work)
                return;
            auto work = std::move(m_work);
            const auto start = std::chrono::steady_clock::now();
            try {
                work->wait();
            } catch (const std::exception& e) {
                collectiveFailed(m_what, m_backend, e);
            }
            *m_waited += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        }

    private:
        c10::intrusive_ptr<c10d::Work> m_work;
        std::string m_what, m_backend;
        double* m_waited;
    };

    [[noreturn]] static void collectiveFailed(const std::string& what, const std::string& backend,
                                              const std::exception& e)
    {
        fail("the workers' ", what, " failed (", backend, ": ", firstLine(e),
             "): another worker has stopped or cannot be reached; see its log");
    }

    int rank() const override { return m_group->getRank(); }
    int size() const override { return m_group->getSize(); }
    std::string backend() const override { return m_backend; }

    std::unique_ptr<Pending> allReduceSumAsync(torch::Tensor t) override
    {
        const int w = size();
        m_bytesSent += 2 * (w - 1) * t.numel() * t.element_size() / w; // a ring all-reduce
        std::vector<at::Tensor> tensors{t};
        return start([&] { return m_group->allreduce(tensors); }, "all-reduce");
    }

    void allReduceMax(torch::Tensor t) override
    {
        std::vector<at::Tensor> tensors{t};
        c10d::AllreduceOptions options;
        options.reduceOp = c10d::ReduceOp::MAX;
        start([&] { return m_group->allreduce(tensors, options); }, "all-reduce")->wait();
    }

    /// Gloo has no reduce-scatter: the ring algorithm on its point-to-point sends. In step s, worker r sends its
    /// partial sum of chunk (r - s - 1) to worker r + 1 and adds the partial sum of chunk (r - s - 2) it receives
    /// from worker r - 1; after w - 1 steps chunk r holds every worker's term. The first step is started at once
    /// (it overlaps whatever the caller does next); wait() runs the rest.
    class Ring final : public Pending
    {
    public:
        Ring(ProcessGroupCommunicator& comm, const torch::Tensor& input, torch::Tensor output)
            : m_comm(comm), m_output(std::move(output)), m_w(comm.size()), m_r(comm.rank())
        {
            const std::int64_t chunk = m_output.numel();
            m_acc = input.contiguous().view({m_w, chunk}).clone();
            m_incoming = torch::empty({chunk}, input.options());
            // Tags of their own: several rings can be in flight (one per bucket), in the same order everywhere.
            m_tag = comm.m_nextTag;
            comm.m_nextTag = (comm.m_nextTag + m_w) % (1 << 30);
            start(0);
        }
        void wait() override
        {
            for (int s = 0; s < m_w - 1; ++s) {
                m_got->wait();
                m_sent->wait();
                m_acc[index(s + 2)].add_(m_incoming);
                if (s + 1 < m_w - 1)
                    start(s + 1);
            }
            m_output.copy_(m_acc[m_r].view_as(m_output));
            m_w = 1; // done: a second wait() does nothing
        }

    private:
        int index(int back) const { return ((m_r - back) % m_w + m_w) % m_w; } // chunk (r - back)
        void start(int s)
        {
            const int next = (m_r + 1) % m_w, prev = (m_r + m_w - 1) % m_w;
            std::vector<at::Tensor> out{m_acc[index(s + 1)].contiguous()}, in{m_incoming};
            m_sent = m_comm.start([&] { return m_comm.m_group->send(out, next, m_tag + s); }, "reduce-scatter");
            m_got = m_comm.start([&] { return m_comm.m_group->recv(in, prev, m_tag + s); }, "reduce-scatter");
        }

        ProcessGroupCommunicator& m_comm;
        torch::Tensor m_output, m_acc, m_incoming;
        int m_w, m_r, m_tag = 0;
        std::unique_ptr<Pending> m_sent, m_got;
    };

    std::unique_ptr<Pending> reduceScatterSumAsync(const torch::Tensor& input, torch::Tensor output) override
    {
        const int w = size();
        const std::int64_t chunk = output.numel();
        if (input.numel() != chunk * w)
            fail("reduce-scatter: the input has ", input.numel(), " elements, not ", w, " x ", chunk);
        m_bytesSent += (w - 1) * chunk * input.element_size();
        if (!m_nativeReduceScatter)
            return std::make_unique<Ring>(*this, input, std::move(output));
        auto flat = input.contiguous().view({w, chunk}).clone();
        std::vector<at::Tensor> outputs{output};
        std::vector<std::vector<at::Tensor>> inputs(1);
        for (int i = 0; i < w; ++i)
            inputs[0].push_back(flat[i]);
        return start([&] { return m_group->reduce_scatter(outputs, inputs); }, "reduce-scatter");
    }

    void allGather(const torch::Tensor& input, torch::Tensor& output) override
    {
        const int w = size();
        const std::int64_t chunk = input.numel();
        if (output.numel() != chunk * w)
            fail("all-gather: the output has ", output.numel(), " elements, not ", w, " x ", chunk);
        m_bytesSent += (w - 1) * chunk * input.element_size();
        auto flat = output.view({w, chunk});
        std::vector<at::Tensor> inputs{input.contiguous().view({chunk})};
        std::vector<std::vector<at::Tensor>> outputs(1);
        for (int i = 0; i < w; ++i)
            outputs[0].push_back(torch::empty({chunk}, input.options()));
        start([&] { return m_group->allgather(outputs, inputs); }, "all-gather")->wait();
        for (int i = 0; i < w; ++i)
            flat[i].copy_(outputs[0][i]);
    }

    void broadcast(torch::Tensor t, int root) override
    {
        if (rank() == root)
            m_bytesSent += t.numel() * t.element_size();
        std::vector<at::Tensor> tensors{t};
        c10d::BroadcastOptions options;
        options.rootRank = root;
        start([&] { return m_group->broadcast(tensors, options); }, "broadcast")->wait();
    }

    void barrier() override { start([&] { return m_group->barrier(); }, "barrier")->wait(); }

private:
    template <class F>
    std::unique_ptr<Pending> start(F&& launch, const char* what)
    {
        try {
            return std::make_unique<Work>(launch(), what, m_backend, &m_secondsWaiting);
        } catch (const Error&) {
            throw;
        } catch (const std::exception& e) {
            collectiveFailed(what, m_backend, e);
        }
    }

    c10::intrusive_ptr<c10d::Store> m_store;
    c10::intrusive_ptr<Group> m_group;
    std::string m_backend;
    bool m_nativeReduceScatter;
    torch::Device m_device;
    int m_nextTag = 0; // point-to-point tags of the reduce-scatter rings
};

} // namespace

std::unique_ptr<Communicator> soloCommunicator()
{
    return std::make_unique<Solo>();
}

bool backendAvailable(torch::DeviceType type)
{
#ifdef LATHE_HAVE_GLOO
    if (type == torch::kCPU)
        return true;
#endif
#ifdef LATHE_WITH_NCCL
    if (type == torch::kCUDA)
        return true;
#endif
#ifdef LATHE_WITH_HCCL
    if (type == torch::kPrivateUse1)
        return true;
#endif
    return false;
}

std::unique_ptr<Communicator> connectWorkers(const WorkerPlace& place, const torch::Device& device,
                                             std::chrono::milliseconds timeout)
{
    if (place.worldSize <= 1)
        return soloCommunicator();
    if (!backendAvailable(device.type()))
        fail("distributed training on ", device.str(), " needs ",
             device.is_cpu()    ? "Gloo (this build found no Gloo headers: install libgloo-dev and build again)"
             : device.is_cuda() ? "NCCL (build with -DLATHE_WITH_NCCL=ON against a CUDA libtorch)"
                                : "HCCL (build with -DLATHE_WITH_NPU=ON -DLATHE_WITH_HCCL=ON against torch_npu)");
    const std::string where = place.masterAddr + ":" + std::to_string(place.masterPort);
    c10::intrusive_ptr<c10d::Store> store;
    try {
        c10d::TCPStoreOptions options;
        options.port = std::uint16_t(place.masterPort);
        options.isServer = place.rank == 0;
        options.numWorkers = std::size_t(place.worldSize);
        options.waitWorkers = true;
        options.timeout = timeout;
        store = c10::make_intrusive<c10d::TCPStore>(place.masterAddr, options);
    } catch (const std::exception& e) {
        fail("the rendezvous of ", place.worldSize, " workers at MASTER_ADDR:MASTER_PORT ", where, " failed (",
             place.describe(), "): ", firstLine(e),
             place.rank == 0 ? "; is the port in use? choose another MASTER_PORT"
                             : "; is rank 0 running and the address reachable from here?");
    }
    try {
#ifdef LATHE_HAVE_GLOO
        if (device.is_cpu()) {
            auto options = c10d::ProcessGroupGloo::Options::create(timeout);
            // The address the other workers reach this one at: loopback for a job on one machine.
            const bool local = place.masterAddr == "127.0.0.1" || place.masterAddr == "localhost";
            options->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                             : c10d::ProcessGroupGloo::createDefaultDevice());
            options->threads = 2;
            auto prefixed = c10::make_intrusive<c10d::PrefixStore>("lathe/", store);
            auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, place.rank, place.worldSize, options);
            return std::make_unique<ProcessGroupCommunicator<c10d::ProcessGroupGloo>>(store, group, "gloo", false, torch::kCPU);
        }
#endif
#ifdef LATHE_WITH_NCCL
        if (device.is_cuda()) {
            auto options = c10d::ProcessGroupNCCL::Options::create();
            options->timeout = timeout;
            auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, place.rank, place.worldSize, options);
            return std::make_unique<ProcessGroupCommunicator<c10d::ProcessGroupNCCL>>(store, group, "nccl", true, device);
        }
#endif
#ifdef LATHE_WITH_HCCL
        if (device.type() == torch::kPrivateUse1) {
            auto options = c10d_npu::ProcessGroupHCCL::Options::create();
            options->timeout = timeout;
            auto group = c10::make_intrusive<c10d_npu::ProcessGroupHCCL>(store, place.rank, place.worldSize, options);
            return std::make_unique<ProcessGroupCommunicator<c10d_npu::ProcessGroupHCCL>>(store, group, "hccl", true, device);
        }
#endif
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        fail("connecting ", place.worldSize, " workers through ", where, " failed (", place.describe(), "): ",
             firstLine(e));
    }
    fail("no distributed backend for ", device.str());
}

} // namespace lathe
