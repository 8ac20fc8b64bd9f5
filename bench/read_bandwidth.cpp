#include "read_bandwidth.h"

#include <cstdlib>
#include <new>

#include <omp.h>
#include <sys/mman.h>

namespace bench {

void* allocateLikeWeights(std::size_t bytes)
{
    constexpr std::size_t kHuge = std::size_t(2) << 20;
    void* p = std::aligned_alloc(kHuge, (bytes + kHuge - 1) / kHuge * kHuge);
    if (!p)
        throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    ::madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

std::uint64_t readWords(const std::uint64_t* data, std::size_t words, int threads)
{
    std::uint64_t total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
    {
        const std::size_t n = static_cast<std::size_t>(omp_get_num_threads());
        const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
        const std::size_t share = (words / n) & ~std::size_t(7);
        const std::uint64_t* p = data + t * share;
        const std::size_t count = t + 1 == n ? words - t * share : share;
        std::uint64_t acc[8] = {};
        std::size_t i = 0;
        for (; i + 8 <= count; i += 8)
            for (int k = 0; k < 8; ++k)
                acc[k] += p[i + k];
        for (; i < count; ++i)
            acc[0] += p[i];
        for (std::uint64_t a : acc)
            total += a;
    }
    return total;
}

} // namespace bench
