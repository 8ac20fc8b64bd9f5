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

    /// The threads to use out of `wanted`, running `current` now, given othersBusyCores() (at least 1): a core
    /// counts as held once others use more than 0.4 of it; the count goes back up only when others use less than
    /// 0.2 core (a measurement that straddles a change must not flip it back). Returns `current` when nothing
    /// was measured.
    int threadsFor(int wanted, int current, double minSeconds = 0.5);

private:
    bool sample(std::uint64_t& totalBusy, std::uint64_t& own, double& seconds) const;

    std::uint64_t m_totalBusy = 0, m_own = 0;
    double m_seconds = 0;
    bool m_valid = false;
};

} // namespace lathe
