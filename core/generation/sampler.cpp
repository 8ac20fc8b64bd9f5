#include "generation/sampler.h"

#include <cmath>
#include <limits>
#include <random>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "util/error.h"

namespace lathe {

Sampler::Sampler(const SamplingOptions& options) : m_options(options)
{
    if (options.temperature < 0 || !std::isfinite(options.temperature))
        fail("temperature must be a finite number >= 0 (got ", options.temperature, ")");
    if (options.top_p <= 0 || options.top_p > 1)
        fail("top_p must be in (0, 1] (got ", options.top_p, ")");
    if (options.top_k < 0)
        fail("top_k must be >= 0 (got ", options.top_k, ")");
    if (options.repetition_penalty <= 0)
        fail("repetition_penalty must be > 0 (got ", options.repetition_penalty, ")");
    const std::uint64_t seed = options.seed ? *options.seed : std::random_device{}();
    m_generator = at::make_generator<at::CPUGeneratorImpl>(seed);
}

torch::Tensor Sampler::process(torch::Tensor scores, const std::vector<std::int64_t>& sequence) const
{
    scores = scores.to(torch::kCPU, torch::kFloat32).contiguous().clone();
    const std::int64_t vocab = scores.size(0);
    float* s = scores.data_ptr<float>();
    if (m_options.repetition_penalty != 1.0) {
        // RepetitionPenaltyLogitsProcessor: each distinct earlier token once; negative scores multiplied.
        const float penalty = static_cast<float>(m_options.repetition_penalty);
        std::vector<bool> seen(static_cast<std::size_t>(vocab), false);
        for (const std::int64_t id : sequence) {
            if (id < 0 || id >= vocab || seen[static_cast<std::size_t>(id)])
                continue;
            seen[static_cast<std::size_t>(id)] = true;
            s[id] = s[id] < 0 ? s[id] * penalty : s[id] / penalty;
        }
    }
    if (greedy())
        return scores;
    const float minusInf = -std::numeric_limits<float>::infinity();
    if (m_options.temperature != 1.0)
        scores.div_(m_options.temperature);
    if (m_options.top_k > 0 && m_options.top_k < vocab) {
        // TopKLogitsWarper: everything below the k-th largest score goes (ties with it stay).
        const float kth = std::get<0>(scores.topk(m_options.top_k)).min().item<float>();
        scores.masked_fill_(scores < kth, minusInf);
    }
    if (m_options.top_p < 1.0) {
        // TopPLogitsWarper: sort ascending, drop the tokens whose cumulative probability stays <= 1 - top_p,
        // always keeping the most likely one.
        auto [sorted, index] = scores.sort(/*dim=*/0, /*descending=*/false);
        const auto cumulative = sorted.softmax(0).cumsum(0);
        auto remove = cumulative <= (1.0 - m_options.top_p);
        remove[vocab - 1] = false;
        scores.index_put_({index.masked_select(remove)}, minusInf);
    }
    return scores;
}

std::int64_t Sampler::next(const torch::Tensor& logits, const std::vector<std::int64_t>& sequence)
{
    const torch::Tensor scores = process(logits.reshape({-1}), sequence);
    if (scores.isnan().any().item<bool>())
        fail("generation: the model produced NaN logits");
    if (greedy())
        return scores.argmax().item<std::int64_t>();
    const auto probs = scores.softmax(0);
    if (!(probs.sum().item<double>() > 0))
        fail("generation: every token was filtered out (top_k/top_p)");
    return torch::multinomial(probs, 1, /*replacement=*/false, m_generator).item<std::int64_t>();
}

std::vector<std::int64_t> Sampler::next(const torch::Tensor& logits,
                                        const std::vector<std::vector<std::int64_t>>& sequences)
{
    std::vector<std::int64_t> out;
    out.reserve(sequences.size());
    if (greedy() && m_options.repetition_penalty == 1.0) {
        const auto ids = logits.argmax(-1).to(torch::kCPU);
        for (std::int64_t b = 0; b < ids.size(0); ++b)
            out.push_back(ids[b].item<std::int64_t>());
        return out;
    }
    for (std::size_t b = 0; b < sequences.size(); ++b)
        out.push_back(next(logits[static_cast<std::int64_t>(b)], sequences[b]));
    return out;
}

} // namespace lathe
