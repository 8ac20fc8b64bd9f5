#include "train/data_parallel_job.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include <torch/torch.h>

#include "dist/worker_group.h"
#include "runtime/device.h"
#include "train/run_settings.h"
#include "train/trainer.h"
#include "util/error.h"
#include "util/file_util.h"

namespace lathe {

namespace fs = std::filesystem;

DataParallelJob::DataParallelJob() : m_comm(soloCommunicator()) {}

DataParallelJob::~DataParallelJob()
{
    m_workers.reset(); // stops local workers still running (an error ended this one)
    if (m_threadsBefore > 0)
        torch::set_num_threads(m_threadsBefore);
    if (!m_workerArgs.empty()) {
        std::error_code ec;
        fs::remove(m_workerArgs, ec);
    }
}

torch::Device DataParallelJob::join(const RunSettings& s, const std::string& argsYaml,
                                    const std::function<void(const std::string&)>& log)
{
    m_place = workerPlaceFromEnvironment();
    torch::Device device = resolveDevice(s.device.empty() ? "auto" : s.device);
    int nproc = 1;
    if (s.nprocPerNode)
        nproc = int(*s.nprocPerNode);
    else if (!device.is_cpu() && m_place.source.empty())
        nproc = std::max(1, visibleDeviceCount(device.is_cuda() ? "cuda" : "npu").value_or(1)); // LLaMA-Factory's rule
    if (m_place.source.empty() && nproc > 1) {
        // This process is local rank 0 of `nproc`: it starts the others (as torchrun would) and trains beside them.
        const WorkerPlace base = m_place;
        m_place = localWorkerPlace(base, nproc, 0);
        if (!std::getenv("MASTER_PORT") && base.nodes == 1)
            m_place.masterPort = freeTcpPort();
        const int threads = std::max(1, int(std::thread::hardware_concurrency()) / nproc);
        const bool ompSet = std::getenv("OMP_NUM_THREADS") != nullptr;
        m_workerArgs = (fs::temp_directory_path() / ("lathe-workers-" + std::to_string(getpid()) + ".yaml")).string();
        writeTextFileAtomic(m_workerArgs, argsYaml);
        std::vector<WorkerGroup::Worker> workers;
        for (int local = 1; local < nproc; ++local) {
            WorkerPlace place = localWorkerPlace(base, nproc, local);
            place.masterPort = m_place.masterPort;
            WorkerGroup::Worker w{place.rank, workerEnvironment(place)};
            if (!ompSet)
                w.environment["OMP_NUM_THREADS"] = std::to_string(threads); // torchrun's default, per core here
            workers.push_back(std::move(w));
        }
        if (log)
            log("Starting " + std::to_string(nproc - 1) + " more worker(s) on this machine (nproc_per_node=" +
            std::to_string(nproc) + ", rendezvous " + m_place.masterAddr + ":" + std::to_string(m_place.masterPort) +
            (ompSet ? "" : ", " + std::to_string(threads) + " thread(s) each") + ")");
        m_workers = std::make_unique<WorkerGroup>(workerExecutable(), std::vector<std::string>{"train", m_workerArgs},
                                                  workers);
        if (!ompSet) {
            m_threadsBefore = torch::get_num_threads();
            torch::set_num_threads(threads);
        }
    }
    if (m_place.distributed()) {
        // One accelerator per worker: its local rank, unless the device names one.
        if (!device.is_cpu() && (s.device.find(':') == std::string::npos))
            device = torch::Device(device.type(), torch::DeviceIndex(m_place.localRank));
        try {
            m_comm = connectWorkers(m_place, device, std::chrono::seconds(s.ddpTimeout));
        } catch (const Error& e) {
            relayOutput(log);
            fail(explain(e.what(), s.outputDir));
        }
        if (!m_workerArgs.empty()) {
            std::error_code ec;
            fs::remove(m_workerArgs, ec); // every worker has read it: they are all connected
        }
        if (log)
            log("Data-parallel training: " + std::to_string(m_comm->size()) + " workers through " + m_comm->backend() +
            " (this is " + m_place.describe() + ")");
    }
    return device;
}

void DataParallelJob::inTurn(const std::function<void()>& mainPart, const std::function<void()>& othersPart)
{
    if (m_comm->size() == 1) {
        mainPart();
        return;
    }
    std::string error;
    if (isMain()) {
        try {
            mainPart();
        } catch (const std::exception& e) {
            error = e.what();
        }
    }
    auto failed = torch::tensor({error.empty() ? 0.0f : 1.0f}).to(m_comm->device());
    m_comm->allReduceMax(failed);
    if (!error.empty())
        throw Error(error);
    if (failed.cpu().item<float>() > 0)
        fail("worker rank 0 stopped with an error (see its log); this worker stops too");
    if (!isMain())
        othersPart();
}

nlohmann::json DataParallelJob::gather(const nlohmann::json& mine)
{
    // Two collectives: the longest text, then every worker's text padded to it.
    const std::string text = mine.dump();
    auto longest = torch::tensor({double(text.size())}, torch::kFloat64).to(m_comm->device());
    m_comm->allReduceMax(longest);
    const auto size = std::int64_t(longest.cpu().item<double>()) + 1;
    auto bytes = torch::zeros({size}, torch::kUInt8);
    std::memcpy(bytes.data_ptr<std::uint8_t>(), text.data(), text.size());
    bytes = bytes.to(m_comm->device());
    auto all = torch::empty({size * m_comm->size()}, bytes.options());
    m_comm->allGather(bytes, all);
    all = all.cpu();
    nlohmann::json out = nlohmann::json::array();
    const auto* p = all.data_ptr<std::uint8_t>();
    for (int r = 0; r < m_comm->size(); ++r) {
        const char* begin = reinterpret_cast<const char*>(p + r * size);
        out.push_back(nlohmann::json::parse(std::string(begin, ::strnlen(begin, std::size_t(size)))));
    }
    return out;
}

void DataParallelJob::relayOutput(const std::function<void(const std::string&)>& log)
{
    if (!m_workers || !log)
        return;
    for (const auto& [rank, line] : m_workers->takeLines())
        log("[rank " + std::to_string(rank) + "] " + line);
}

std::string DataParallelJob::explain(const std::string& error, const std::string& outputDir)
{
    if (m_comm->size() == 1 && !m_workers)
        return error;
    std::string text = error;
    if (m_workers) {
        // A worker that died says why in its exit; give it a moment to be reaped.
        for (int i = 0; i < 50 && !m_workers->failure(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (const auto failure = m_workers->failure())
            text = *failure + "; " + text;
    }
    if (outputDir.empty())
        return text;
    const std::string last = lastCheckpoint(outputDir);
    text += last.empty() ? "; no checkpoint was saved yet" : "; the last complete checkpoint is " + last;
    return text;
}


double DataParallelJob::sum(double value)
{
    if (size() == 1)
        return value;
    auto carrier = torch::tensor({value}, torch::kFloat64).to(m_comm->device());
    m_comm->allReduceSum(carrier);
    return carrier.cpu().item<double>();
}

std::vector<double> DataParallelJob::each(double mine)
{
    auto all = torch::zeros({std::int64_t(size())}, torch::kFloat64);
    all[rank()] = mine;
    all = all.to(m_comm->device());
    m_comm->allReduceSum(all);
    all = all.cpu();
    return std::vector<double>(all.data_ptr<double>(), all.data_ptr<double>() + all.numel());
}

std::vector<std::size_t> DataParallelJob::shard(std::vector<std::size_t> order) const
{
    const std::size_t workers = std::size_t(size());
    if (workers == 1 || order.empty())
        return order;
    // The permutation padded to a multiple of the workers by repeating its start, then every workers-th index from
    // the worker's rank. Step s of every worker together covers positions [s x G, (s + 1) x G) of the
    // permutation (G: the global batch), as one worker with the whole batch would.
    const std::size_t total = (order.size() + workers - 1) / workers * workers;
    for (std::size_t i = 0; order.size() < total; ++i)
        order.push_back(order[i]);
    std::vector<std::size_t> mine;
    for (std::size_t i = std::size_t(rank()); i < total; i += workers)
        mine.push_back(order[i]);
    return mine;
}

void DataParallelJob::finish(double seconds, const std::function<void(const std::string&)>& log)
{
    if (!m_workers)
        return;
    // The others end once their last step is done; their last words go to the log.
    if (!m_workers->wait(seconds) && log)
        log("Warning: a worker did not end within " +
            (seconds >= 60 ? std::to_string(int(seconds / 60)) + " minutes" : std::to_string(int(seconds)) + " s") +
            " of the last step and was stopped");
    relayOutput(log);
    if (const auto failure = m_workers->failure(); failure && log)
        log("Warning: " + *failure);
}

} // namespace lathe
