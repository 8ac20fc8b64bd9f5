// How many cores other processes are using, measured between two calls from /proc/stat and this process's own
// CPU time: a desktop app shares its machine, and OpenMP threads that wait at barriers for a thread whose core
// another process holds make a 2-thread step 3.8x slower (measured: 155 -> 41 tokens/s with one core busy;
// one thread gives 91). The trainer drops threads while others hold cores and takes them back when they leave.
#pragma once

#include <cstdint>

namespace lathe {

class CpuShare
{
public:
    CpuShare();

    /// Cores other processes kept busy since the previous call (or construction), 0..online cores; -1 when
    /// /proc cannot be read or less than `minSeconds` passed (nothing measured, nothing reset).
    double othersBusyCores(double minSeconds = 0.5);

    /// The threads to use out of `wanted` given othersBusyCores() (at least 1): wanted minus the cores others
    /// hold, rounded. Returns `wanted` when nothing was measured.
    int threadsFor(int wanted, double minSeconds = 0.5);

private:
    bool sample(std::uint64_t& totalBusy, std::uint64_t& own, double& seconds) const;

    std::uint64_t m_totalBusy = 0, m_own = 0;
    double m_seconds = 0;
    bool m_valid = false;
};

} // namespace lathe
