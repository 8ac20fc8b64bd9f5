// Keys and values of the tokens already processed, so generation feeds one new token per step.
//
// Storage grows geometrically: each layer keeps [B, kv_heads, capacity, head_dim] buffers and a step writes
// its new keys into the next slots instead of concatenating (which would copy the whole cache per token).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace lathe {

class KVCache
{
public:
    explicit KVCache(std::int64_t layers) : m_keys(layers), m_values(layers) {}

    /// Tokens already cached (the past length seen by the next forward).
    std::int64_t length() const { return m_length; }

    /// Stores k/v [B, KV, T, D] of `layer` after the cached ones and returns views of all of them.
    std::pair<torch::Tensor, torch::Tensor> append(std::int64_t layer, const torch::Tensor& k, const torch::Tensor& v);

    /// Called once per forward, after every layer appended: the new tokens become part of the past.
    void advance(std::int64_t tokens) { m_length += tokens; }

    /// Drops everything (start of a new conversation).
    void clear();

    /// Keeps only the rows of `batchIndices` (finished sequences leave the batch).
    void selectBatch(const torch::Tensor& batchIndices);

private:
    std::vector<torch::Tensor> m_keys, m_values;
    std::int64_t m_length = 0;
};

} // namespace lathe
