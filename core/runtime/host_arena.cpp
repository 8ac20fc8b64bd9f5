#include "runtime/host_arena.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include <torch/torch.h>

#include "util/error.h"

namespace lathe {

namespace {

constexpr std::size_t kAlignment = 64; // a cache line: vector loads never straddle two for aligned rows

} // namespace

std::size_t HostArena::footprint(std::int64_t numel, torch::ScalarType type)
{
    const std::size_t bytes = std::size_t(numel) * c10::elementSize(type);
    return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

std::shared_ptr<HostArena> HostArena::create(std::size_t bytes)
{
    std::shared_ptr<HostArena> arena(new HostArena);
    arena->m_size = std::max<std::size_t>(bytes, kAlignment);
    void* p = ::mmap(nullptr, arena->m_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        fail("cannot reserve ", arena->m_size / 1048576.0,
             " MiB of memory for model weights: ", std::strerror(errno));
    arena->m_data = static_cast<std::uint8_t*>(p);
#ifdef MADV_HUGEPAGE
    // Advice only: without THP support the arena works the same with small pages.
    ::madvise(p, arena->m_size, MADV_HUGEPAGE);
#endif
    return arena;
}

HostArena::~HostArena()
{
    if (m_data)
        ::munmap(m_data, m_size);
}

torch::Tensor HostArena::carve(const std::vector<std::int64_t>& shape, torch::ScalarType type)
{
    std::int64_t numel = 1;
    for (auto d : shape)
        numel *= d;
    const std::size_t bytes = footprint(numel, type);
    if (m_used + bytes > m_size)
        fail("internal error: weight arena of ", m_size, " bytes is full");
    void* ptr = m_data + m_used;
    m_used += bytes;
    auto self = shared_from_this();
    return torch::from_blob(
        ptr, shape, [self](void*) mutable { self.reset(); }, torch::TensorOptions().dtype(type));
}

} // namespace lathe
