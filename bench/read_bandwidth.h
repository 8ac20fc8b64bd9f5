// A STREAM-style read of a buffer with OpenMP threads (bench/read_bandwidth.cpp, built with -fopenmp): what the
// memory system delivers to plain sequential loads, apart from any of the engine's kernels.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bench {

/// `bytes` of memory aligned to 2 MiB and advised as huge pages (MADV_HUGEPAGE), as the engine's weight arena
/// (runtime/host_arena.cpp) holds the weights: the buffer a read-bandwidth figure for decode should read.
/// Release with std::free.
void* allocateLikeWeights(std::size_t bytes);

/// Sums `words` 64-bit words from `data` on `threads` OpenMP threads (each a contiguous share, eight independent
/// accumulators); returns the sum so the reads cannot be dropped.
std::uint64_t readWords(const std::uint64_t* data, std::size_t words, int threads);

} // namespace bench
