#include "dist/worker_place.h"

#include <cstdlib>
#include <sstream>

#include "util/error.h"

extern char** environ;

namespace lathe {

namespace {

std::optional<int> intVariable(const std::map<std::string, std::string>& env, const char* name, int low)
{
    const auto it = env.find(name);
    if (it == env.end() || it->second.empty())
        return std::nullopt;
    std::size_t used = 0;
    long value = 0;
    try {
        value = std::stol(it->second, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != it->second.size() || value < low || value > 1 << 20)
        fail("the environment variable ", name, "=\"", it->second, "\" is not a whole number >= ", low);
    return int(value);
}

} // namespace

std::map<std::string, std::string> processEnvironment()
{
    std::map<std::string, std::string> env;
    for (char** e = environ; e && *e; ++e) {
        const std::string entry = *e;
        const auto eq = entry.find('=');
        if (eq != std::string::npos)
            env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
    }
    return env;
}

std::string WorkerPlace::describe() const
{
    std::ostringstream o;
    o << "rank " << rank << " of " << worldSize;
    if (nodes > 1 || localRank != rank)
        o << " (node " << nodeRank << ", local rank " << localRank << ")";
    return o.str();
}

WorkerPlace workerPlaceFromEnvironment(const std::map<std::string, std::string>& given)
{
    const auto env = given.empty() ? processEnvironment() : given;
    WorkerPlace p;
    const auto get = [&](const char* name) -> std::string {
        const auto it = env.find(name);
        return it == env.end() ? std::string() : it->second;
    };
    if (const auto world = intVariable(env, "WORLD_SIZE", 1)) {
        p.source = "torchrun";
        p.worldSize = *world;
        p.rank = intVariable(env, "RANK", 0).value_or(0);
        p.localRank = intVariable(env, "LOCAL_RANK", 0).value_or(p.rank);
        p.localWorldSize = intVariable(env, "LOCAL_WORLD_SIZE", 1).value_or(p.worldSize);
        p.nodes = intVariable(env, "NNODES", 1).value_or(1);
        p.nodeRank = intVariable(env, "NODE_RANK", 0).value_or(0);
        if (get("RANK").empty() && p.worldSize > 1)
            fail("the environment variable WORLD_SIZE=", p.worldSize, " is set without RANK: start workers with "
                 "torchrun, srun or `lathe train ... nproc_per_node=N`");
    } else if (const auto tasks = intVariable(env, "SLURM_NTASKS", 1)) {
        p.source = "slurm";
        p.worldSize = *tasks;
        p.rank = intVariable(env, "SLURM_PROCID", 0).value_or(0);
        p.localRank = intVariable(env, "SLURM_LOCALID", 0).value_or(0);
        p.nodes = intVariable(env, "SLURM_NNODES", 1).value_or(1);
        p.nodeRank = intVariable(env, "SLURM_NODEID", 0).value_or(0);
        p.localWorldSize = std::max(1, p.worldSize / std::max(1, p.nodes));
        if (p.worldSize == 1)
            p.source.clear();
    }
    if (p.source.empty()) {
        // No job yet: NNODES / NODE_RANK (LLaMA-Factory's launcher) size the one this process may start.
        p.nodes = intVariable(env, "NNODES", 1).value_or(1);
        p.nodeRank = intVariable(env, "NODE_RANK", 0).value_or(0);
        if (p.nodeRank >= p.nodes)
            fail("the environment variable NODE_RANK=", p.nodeRank, " is not below NNODES=", p.nodes);
    }
    if (p.rank >= p.worldSize)
        fail("the environment variable RANK=", p.rank, " is not below WORLD_SIZE=", p.worldSize);
    if (p.localRank >= p.localWorldSize && p.localWorldSize > 0 && p.source == "torchrun" && !get("LOCAL_WORLD_SIZE").empty())
        fail("the environment variable LOCAL_RANK=", p.localRank, " is not below LOCAL_WORLD_SIZE=", p.localWorldSize);
    if (const std::string addr = get("MASTER_ADDR"); !addr.empty())
        p.masterAddr = addr;
    if (const auto port = intVariable(env, "MASTER_PORT", 1)) {
        if (*port > 65535)
            fail("the environment variable MASTER_PORT=", *port, " is not a TCP port");
        p.masterPort = *port;
    }
    return p;
}

WorkerPlace localWorkerPlace(const WorkerPlace& self, int nprocPerNode, int localRank)
{
    WorkerPlace p = self;
    p.source = "launcher";
    p.localRank = localRank;
    p.localWorldSize = nprocPerNode;
    p.worldSize = nprocPerNode * self.nodes;
    p.rank = self.nodeRank * nprocPerNode + localRank;
    return p;
}

std::map<std::string, std::string> workerEnvironment(const WorkerPlace& p)
{
    return {{"RANK", std::to_string(p.rank)},
            {"WORLD_SIZE", std::to_string(p.worldSize)},
            {"LOCAL_RANK", std::to_string(p.localRank)},
            {"LOCAL_WORLD_SIZE", std::to_string(p.localWorldSize)},
            {"NNODES", std::to_string(p.nodes)},
            {"NODE_RANK", std::to_string(p.nodeRank)},
            {"MASTER_ADDR", p.masterAddr},
            {"MASTER_PORT", std::to_string(p.masterPort)}};
}

std::optional<int> visibleDeviceCount(const std::string& deviceType)
{
    const char* name = deviceType == "npu" ? "ASCEND_RT_VISIBLE_DEVICES" : "CUDA_VISIBLE_DEVICES";
    const char* value = std::getenv(name);
    if (!value)
        return std::nullopt;
    const std::string list = value;
    if (list.empty())
        return 0;
    int count = 1;
    for (char c : list)
        count += c == ',';
    return count;
}

} // namespace lathe
