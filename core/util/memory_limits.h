// How much memory this process may still take, from every limit in force: the machine's MemAvailable, the
// address-space and data-segment limits (`ulimit -v`, `ulimit -d`), and the cgroup's memory.max (containers,
// systemd units). A training checks its estimate against these before it starts: past a hard limit, mmap fails
// inside the math libraries (OpenBLAS then retries its buffer allocation forever) instead of ending cleanly.
#pragma once

#include <cstdint>
#include <string>

namespace lathe {

struct MemoryLimits
{
    std::int64_t available = -1;        ///< MemAvailable from /proc/meminfo (-1: unknown)
    std::int64_t addressSpaceLimit = -1; ///< RLIMIT_AS (-1: unlimited)
    std::int64_t dataLimit = -1;         ///< RLIMIT_DATA (-1: unlimited)
    std::int64_t virtualInUse = 0;       ///< VmSize: what the address-space limit already counts
    std::int64_t dataInUse = 0;          ///< VmData: what the data limit already counts
    std::int64_t cgroupLimit = -1;       ///< memory.max of this process's cgroup (v2) (-1: none)
    std::int64_t cgroupInUse = 0;        ///< memory.current of that cgroup

    /// The limits of this process now.
    static MemoryLimits current();

    /// The bytes a hard limit (address space, data, cgroup) still allows, and which one binds; -1 when none.
    std::int64_t hardHeadroom(std::string* which = nullptr) const;
    /// One line for messages: "MemAvailable 20.1 GiB; ulimit -v 4.0 GiB with 1.2 GiB in use".
    std::string describe() const;
};

/// MemoryLimits::current().describe(), for out-of-memory messages.
std::string memoryLimitsText();

} // namespace lathe
