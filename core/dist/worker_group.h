// The local workers a training run starts itself (`nproc_per_node=N`): N-1 `lathe train` processes beside the
// calling process, which is local rank 0 (dist/worker_place.h). Their output is collected line by line for the
// caller's log; their exits are watched so a worker that dies is named in the error the others report.
//
// A worker started here gets its place through torchrun's variables and dies with its starter (PDEATHSIG), so
// a killed launcher never leaves workers behind.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lathe {

class WorkerGroup
{
public:
    struct Worker
    {
        int rank = 0;
        std::map<std::string, std::string> environment; ///< added to this process's environment
    };

    /// Starts `executable arguments...` once per worker. Throws lathe::Error when a process cannot start.
    WorkerGroup(const std::string& executable, const std::vector<std::string>& arguments,
                const std::vector<Worker>& workers);
    /// Stops the workers still running (SIGTERM, then SIGKILL after `graceSeconds` of wait()).
    ~WorkerGroup();
    WorkerGroup(const WorkerGroup&) = delete;
    WorkerGroup& operator=(const WorkerGroup&) = delete;

    /// Lines the workers printed since the last call, as (rank, line), in the order read.
    std::vector<std::pair<int, std::string>> takeLines();
    /// The first worker that ended badly (a non-zero exit or a signal), described: "rank 1 (pid 4242) was
    /// killed by signal 9 (Killed)". Empty while none has.
    std::optional<std::string> failure();
    /// Waits up to `seconds` for every worker to end; then sends SIGTERM and, 10 s later, SIGKILL. Returns
    /// whether all ended by themselves.
    bool wait(double seconds);
    /// Sends `signal` to the workers still running.
    void signalAll(int signal);

private:
    struct State;
    std::unique_ptr<State> m_state;
};

/// The `lathe` program that worker processes run: LATHE_WORKER_BINARY, else this program when it is lathe,
/// else `lathe` beside it. Throws lathe::Error when none is found.
std::string workerExecutable();

/// A TCP port free on this machine now (bound to port 0 and released), for MASTER_PORT.
int freeTcpPort();

} // namespace lathe
