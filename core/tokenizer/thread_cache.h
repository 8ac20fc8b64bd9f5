// Per-thread caches of a shared, read-only object (a tokenizer, its BPE model): each thread keeps its own map
// for the object it used last, so threads encoding with one tokenizer never take a lock or write a cache line
// another thread reads. Objects are told apart by an id (an address can be reused by a later object).
#pragma once

#include <atomic>
#include <cstdint>

namespace lathe {

/// A fresh id for an object that keeps per-thread caches (never 0, never repeated in the process).
inline std::uint64_t newCacheOwnerId()
{
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
}

/// This thread's `Map` for `owner`, emptied when the thread last used it for another owner. `Tag` keeps caches
/// of the same map type apart.
template <typename Tag, typename Map> Map& threadCacheFor(std::uint64_t owner)
{
    thread_local struct
    {
        std::uint64_t owner = 0;
        Map map;
    } cache;
    if (cache.owner != owner) {
        cache.map.clear();
        cache.owner = owner;
    }
    return cache.map;
}

} // namespace lathe
