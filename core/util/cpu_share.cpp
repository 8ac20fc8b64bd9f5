#include "util/cpu_share.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

namespace lathe {

CpuShare::CpuShare()
{
    m_valid = sample(m_totalBusy, m_own, m_seconds);
}

bool CpuShare::sample(std::uint64_t& totalBusy, std::uint64_t& own, double& seconds) const
{
    // /proc/stat "cpu user nice system idle iowait irq softirq steal ...": busy = all but idle and iowait.
    std::ifstream stat("/proc/stat");
    std::string label;
    std::uint64_t v[10] = {};
    if (!(stat >> label) || label != "cpu")
        return false;
    for (auto& x : v)
        stat >> x;
    totalBusy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    // /proc/self/stat: utime and stime are fields 14 and 15 (after the parenthesised command name).
    std::ifstream self("/proc/self/stat");
    std::string line;
    if (!std::getline(self, line))
        return false;
    const auto close = line.rfind(')');
    if (close == std::string::npos)
        return false;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    std::uint64_t utime = 0, stime = 0;
    for (int i = 3; i <= 15 && (rest >> field); ++i) {
        if (i == 14)
            utime = std::stoull(field);
        if (i == 15)
            stime = std::stoull(field);
    }
    own = utime + stime;
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    return true;
}

double CpuShare::othersBusyCores(double minSeconds)
{
    std::uint64_t totalBusy = 0, own = 0;
    double seconds = 0;
    if (!m_valid || !sample(totalBusy, own, seconds) || seconds - m_seconds < minSeconds) {
        if (!m_valid)
            m_valid = sample(m_totalBusy, m_own, m_seconds);
        return -1;
    }
    const double ticks = double(sysconf(_SC_CLK_TCK));
    const double others = (double(totalBusy - m_totalBusy) - double(own - m_own)) / ticks / (seconds - m_seconds);
    m_totalBusy = totalBusy;
    m_own = own;
    m_seconds = seconds;
    const double cores = double(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    return std::clamp(others, 0.0, cores);
}

int CpuShare::threadsFor(int wanted, int current, double minSeconds)
{
    const double others = othersBusyCores(minSeconds);
    if (others < 0)
        return current;
    const int cores = int(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    const int held = int(std::ceil(others - 0.4));
    int target = std::clamp(std::min(wanted, cores - held), 1, wanted);
    if (target > current && others > 0.2)
        target = current;
    return target;
}

} // namespace lathe
