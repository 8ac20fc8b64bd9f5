// One block of host memory that many CPU tensors live in: the weights of a loaded model.
//
// The block is anonymous memory advised for transparent huge pages (MADV_HUGEPAGE). Decoding streams every
// weight once per token, and with 4 KiB pages (a file mapping, or malloc without the advice) the page walks
// cost about a quarter of the bandwidth: the bf16 GEMV over Qwen3-0.6B's lm_head reads ~15 GB/s from a file
// mapping and ~19.5 GB/s from huge pages on a 2-core EPYC (see docs/benchmarks.md). Tensors carved from the
// arena keep it alive; it is unmapped when the last one goes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <torch/types.h>

namespace lathe {

class HostArena : public std::enable_shared_from_this<HostArena>
{
public:
    /// Bytes a tensor of `numel` elements of `type` takes in an arena, alignment included.
    static std::size_t footprint(std::int64_t numel, torch::ScalarType type);

    /// Reserves `bytes` (the sum of footprint() of the tensors to carve). Throws lathe::Error when the
    /// memory cannot be mapped.
    static std::shared_ptr<HostArena> create(std::size_t bytes);
    ~HostArena();
    HostArena(const HostArena&) = delete;
    HostArena& operator=(const HostArena&) = delete;

    /// An uninitialised CPU tensor in the arena; throws lathe::Error when the arena is full.
    torch::Tensor carve(const std::vector<std::int64_t>& shape, torch::ScalarType type);

    std::size_t capacity() const { return m_size; }
    std::size_t used() const { return m_used; }

private:
    HostArena() = default;
    std::uint8_t* m_data = nullptr;
    std::size_t m_size = 0;
    std::size_t m_used = 0;
};

} // namespace lathe
