#include "dist/worker_group.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include "dist/worker_place.h"
#include "util/error.h"

namespace lathe {

namespace fs = std::filesystem;

struct WorkerGroup::State
{
    struct Child
    {
        int rank = 0;
        pid_t pid = -1;
        int fd = -1; // its stdout and stderr
        std::string partial;
        bool exited = false;
        int status = 0;
    };
    std::vector<Child> children;
    std::mutex mutex; // lines, failure, children's exit state
    std::vector<std::pair<int, std::string>> lines;
    std::optional<std::string> failure;
    std::thread reader;
    bool stopping = false;

    void read();
    void reap(Child& child, int status);
};

namespace {

std::string describeStatus(int status)
{
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        return "was killed by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
    }
    return "exited with status " + std::to_string(WEXITSTATUS(status));
}

} // namespace

void WorkerGroup::State::reap(Child& child, int status)
{
    std::lock_guard<std::mutex> lock(mutex);
    child.exited = true;
    child.status = status;
    const bool bad = WIFSIGNALED(status) || WEXITSTATUS(status) != 0;
    if (bad && !failure && !stopping)
        failure = "worker rank " + std::to_string(child.rank) + " (pid " + std::to_string(child.pid) + ") " +
                  describeStatus(status);
}

void WorkerGroup::State::read()
{
    // One thread reads every worker's output and reaps them: the caller takes lines between steps.
    for (;;) {
        std::vector<pollfd> fds;
        std::vector<Child*> owners;
        for (auto& c : children)
            if (c.fd >= 0) {
                fds.push_back({c.fd, POLLIN, 0});
                owners.push_back(&c);
            }
        bool running = false;
        for (auto& c : children) {
            bool exited;
            {
                std::lock_guard<std::mutex> lock(mutex);
                exited = c.exited;
            }
            if (!exited) {
                int status = 0;
                if (waitpid(c.pid, &status, WNOHANG) == c.pid)
                    reap(c, status);
                else
                    running = true;
            }
        }
        if (fds.empty() && !running)
            return;
        if (fds.empty()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            continue;
        }
        if (poll(fds.data(), fds.size(), 100) <= 0)
            continue;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            Child& c = *owners[i];
            char buf[4096];
            const ssize_t n = ::read(c.fd, buf, sizeof buf);
            if (n <= 0) {
                ::close(c.fd);
                c.fd = -1;
                if (!c.partial.empty()) {
                    std::lock_guard<std::mutex> lock(mutex);
                    lines.emplace_back(c.rank, c.partial);
                    c.partial.clear();
                }
                continue;
            }
            c.partial.append(buf, std::size_t(n));
            std::size_t start = 0, nl;
            std::lock_guard<std::mutex> lock(mutex);
            while ((nl = c.partial.find('\n', start)) != std::string::npos) {
                std::string line = c.partial.substr(start, nl - start);
                if (!line.empty() && line.back() == '\r')
                    line.pop_back();
                // A progress line redrawn with \r: keep its last state.
                if (const auto cr = line.rfind('\r'); cr != std::string::npos)
                    line = line.substr(cr + 1);
                if (!line.empty())
                    lines.emplace_back(c.rank, line);
                start = nl + 1;
            }
            c.partial.erase(0, start);
        }
    }
}

WorkerGroup::WorkerGroup(const std::string& executable, const std::vector<std::string>& arguments,
                         const std::vector<Worker>& workers)
    : m_state(std::make_unique<State>())
{
    // Everything the child needs is built before fork: between fork and exec only async-signal-safe calls.
    std::vector<std::string> argvText{executable};
    argvText.insert(argvText.end(), arguments.begin(), arguments.end());
    std::vector<char*> argv;
    for (auto& a : argvText)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = getpid();

    const auto inherited = processEnvironment(); // each worker's variables are added over this process's
    for (const auto& w : workers) {
        std::map<std::string, std::string> env = inherited;
        for (const auto& [k, v] : w.environment)
            env[k] = v;
        std::vector<std::string> envText;
        for (const auto& [k, v] : env)
            envText.push_back(k + "=" + v);
        std::vector<char*> envp;
        for (auto& e : envText)
            envp.push_back(e.data());
        envp.push_back(nullptr);

        int pipeFds[2];
        if (pipe2(pipeFds, O_CLOEXEC) != 0)
            fail("cannot start worker rank ", w.rank, ": pipe: ", std::strerror(errno));
        const pid_t pid = fork();
        if (pid < 0) {
            ::close(pipeFds[0]);
            ::close(pipeFds[1]);
            fail("cannot start worker rank ", w.rank, ": fork: ", std::strerror(errno));
        }
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent)
                _exit(127);
            dup2(pipeFds[1], STDOUT_FILENO);
            dup2(pipeFds[1], STDERR_FILENO);
            signal(SIGPIPE, SIG_DFL);
            execve(argv[0], argv.data(), envp.data());
            const char msg[] = "cannot run the worker program\n";
            (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
            _exit(127);
        }
        ::close(pipeFds[1]);
        State::Child child;
        child.rank = w.rank;
        child.pid = pid;
        child.fd = pipeFds[0];
        m_state->children.push_back(std::move(child));
    }
    m_state->reader = std::thread([s = m_state.get()] { s->read(); });
}

WorkerGroup::~WorkerGroup()
{
    wait(0);
    if (m_state->reader.joinable())
        m_state->reader.join();
}

std::vector<std::pair<int, std::string>> WorkerGroup::takeLines()
{
    std::lock_guard<std::mutex> lock(m_state->mutex);
    return std::exchange(m_state->lines, {});
}

std::optional<std::string> WorkerGroup::failure()
{
    std::lock_guard<std::mutex> lock(m_state->mutex);
    return m_state->failure;
}

void WorkerGroup::signalAll(int sig)
{
    std::lock_guard<std::mutex> lock(m_state->mutex);
    for (const auto& c : m_state->children)
        if (!c.exited)
            ::kill(c.pid, sig);
}

bool WorkerGroup::wait(double seconds)
{
    using Clock = std::chrono::steady_clock;
    const auto allExited = [&] {
        std::lock_guard<std::mutex> lock(m_state->mutex);
        for (const auto& c : m_state->children)
            if (!c.exited)
                return false;
        return true;
    };
    const auto until = [&](double s) {
        const auto end = Clock::now() + std::chrono::duration<double>(s);
        while (!allExited() && Clock::now() < end)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return allExited();
    };
    if (until(seconds))
        return true;
    {
        std::lock_guard<std::mutex> lock(m_state->mutex);
        m_state->stopping = true;
    }
    signalAll(SIGTERM);
    if (!until(10))
        signalAll(SIGKILL);
    until(5);
    return false;
}

std::string workerExecutable()
{
    if (const char* given = std::getenv("LATHE_WORKER_BINARY"); given && *given)
        return given;
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        if (self.filename() == "lathe")
            return self.string();
        const fs::path beside = self.parent_path() / "lathe";
        if (fs::exists(beside, ec))
            return beside.string();
    }
    fail("cannot find the lathe program to start workers with (set LATHE_WORKER_BINARY to its path)");
}

int freeTcpPort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail("cannot pick a port for the workers' rendezvous: ", std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const std::string why = std::strerror(errno);
        ::close(fd);
        fail("cannot pick a port for the workers' rendezvous: ", why);
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

} // namespace lathe
