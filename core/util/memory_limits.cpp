#include "util/memory_limits.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace lathe {

namespace {

std::int64_t fieldKiB(const char* file, const std::string& key)
{
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(key, 0) == 0) {
            try {
                return std::stoll(line.substr(key.size())) * 1024;
            } catch (const std::exception&) {
                return -1;
            }
        }
    return -1;
}

std::int64_t limitOf(int resource)
{
    rlimit r{};
    if (getrlimit(resource, &r) != 0 || r.rlim_cur == RLIM_INFINITY)
        return -1;
    return static_cast<std::int64_t>(r.rlim_cur);
}

/// A number from a cgroup file, -1 for "max" or when unreadable.
std::int64_t cgroupValue(const std::string& path)
{
    std::ifstream in(path);
    std::string text;
    if (!(in >> text) || text == "max")
        return -1;
    try {
        return std::stoll(text);
    } catch (const std::exception&) {
        return -1;
    }
}

std::string gib(std::int64_t bytes)
{
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f GiB", double(bytes) / double(1ll << 30));
    return buffer;
}

} // namespace

MemoryLimits MemoryLimits::current()
{
    MemoryLimits m;
    m.available = fieldKiB("/proc/meminfo", "MemAvailable:");
    m.addressSpaceLimit = limitOf(RLIMIT_AS);
    m.dataLimit = limitOf(RLIMIT_DATA);
    m.virtualInUse = std::max<std::int64_t>(0, fieldKiB("/proc/self/status", "VmSize:"));
    m.dataInUse = std::max<std::int64_t>(0, fieldKiB("/proc/self/status", "VmData:"));
    // cgroup v2: "0::/path" in /proc/self/cgroup.
    std::ifstream cg("/proc/self/cgroup");
    std::string line;
    while (std::getline(cg, line))
        if (line.rfind("0::", 0) == 0) {
            const std::string dir = "/sys/fs/cgroup" + line.substr(3);
            m.cgroupLimit = cgroupValue(dir + "/memory.max");
            m.cgroupInUse = std::max<std::int64_t>(0, cgroupValue(dir + "/memory.current"));
        }
    return m;
}

std::int64_t MemoryLimits::hardHeadroom(std::string* which) const
{
    std::int64_t best = -1;
    auto consider = [&](std::int64_t limit, std::int64_t used, const char* name) {
        if (limit < 0)
            return;
        const std::int64_t left = std::max<std::int64_t>(0, limit - used);
        if (best < 0 || left < best) {
            best = left;
            if (which)
                *which = name;
        }
    };
    consider(addressSpaceLimit, virtualInUse, "the address-space limit (ulimit -v)");
    consider(dataLimit, dataInUse, "the data-segment limit (ulimit -d)");
    consider(cgroupLimit, cgroupInUse, "the cgroup's memory.max");
    return best;
}

std::string MemoryLimits::describe() const
{
    std::ostringstream out;
    out << "MemAvailable " << (available >= 0 ? gib(available) : std::string("unknown"));
    if (addressSpaceLimit >= 0)
        out << "; ulimit -v " << gib(addressSpaceLimit) << " with " << gib(virtualInUse) << " in use";
    if (dataLimit >= 0)
        out << "; ulimit -d " << gib(dataLimit) << " with " << gib(dataInUse) << " in use";
    if (cgroupLimit >= 0)
        out << "; cgroup memory.max " << gib(cgroupLimit) << " with " << gib(cgroupInUse) << " in use";
    return out.str();
}

std::string memoryLimitsText()
{
    return MemoryLimits::current().describe();
}

} // namespace lathe
