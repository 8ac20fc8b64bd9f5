#include "generation/generator.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <torch/torch.h>

#include "runtime/device.h"
#include "util/error.h"

namespace lathe {

namespace {

double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

torch::Tensor idsTensor(const std::vector<std::int64_t>& ids)
{
    return torch::tensor(ids, torch::kLong).unsqueeze(0);
}

void checkIds(const CausalLM& model, const std::vector<std::int64_t>& ids)
{
    if (ids.empty())
        fail("input_ids is empty");
    const auto vocab = model->config().vocab_size;
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (ids[i] < 0 || ids[i] >= vocab)
            fail("input_ids[", i, "] = ", ids[i], " is outside the vocabulary (0..", vocab - 1, ")");
}

} // namespace

GenerationResult generate(CausalLM& model, const std::vector<std::int64_t>& input_ids,
                          const GenerationOptions& options)
{
    checkIds(model, input_ids);
    torch::NoGradGuard noGrad;
    Sampler sampler(options.sampling);
    GenerationResult result;
    result.finish_reason = "length";
    auto start = std::chrono::steady_clock::now();

    KVCache cache = model->makeCache();
    KVCache* cachePtr = options.use_cache ? &cache : nullptr;
    std::vector<std::int64_t> sequence = input_ids;
    auto isStop = [&](std::int64_t id) {
        return std::find(options.eos_token_ids.begin(), options.eos_token_ids.end(), id) != options.eos_token_ids.end();
    };

    // Prefill: logits only for the last position (the lm_head over the whole prompt is wasted work).
    auto hidden = model->hiddenStates(idsTensor(sequence), {}, cachePtr);
    auto logits = model->lmHead(hidden.select(1, hidden.size(1) - 1)).to(torch::kFloat32); // [1, V]
    result.logits_last = logits[0].to(torch::kCPU).clone();
    result.prefill_seconds = secondsSince(start);
    start = std::chrono::steady_clock::now();

    // Decoding reads the weights once per token: one thread on a core of its own beats two that wait for a core
    // another process holds (runtime/device.h).
    AdaptiveThreads threads(logits.device().is_cpu());
    for (std::int64_t step = 0; step < options.max_new_tokens; ++step) {
        threads.adapt();
        if (options.cancel && options.cancel->load()) {
            result.finish_reason = "cancelled";
            break;
        }
        const std::int64_t next = sampler.next(logits[0], sequence);
        result.output_ids.push_back(next);
        sequence.push_back(next);
        const bool keepGoing = !options.on_token || options.on_token(next);
        if (isStop(next) || !keepGoing) {
            result.finish_reason = "stop";
            break;
        }
        if (step + 1 == options.max_new_tokens)
            break;
        if (options.use_cache) {
            hidden = model->hiddenStates(torch::tensor({{next}}, torch::kLong), {}, cachePtr);
        } else {
            hidden = model->hiddenStates(idsTensor(sequence));
        }
        logits = model->lmHead(hidden.select(1, hidden.size(1) - 1)).to(torch::kFloat32);
    }
    result.decode_seconds = secondsSince(start);
    return result;
}

GenerationResult greedyGenerate(CausalLM& model, const std::vector<std::int64_t>& input_ids,
                                const GenerationOptions& options)
{
    GenerationOptions greedy = options;
    greedy.sampling = SamplingOptions{};
    return generate(model, input_ids, greedy);
}

std::vector<std::vector<std::int64_t>> generateBatch(CausalLM& model,
                                                     const std::vector<std::vector<std::int64_t>>& prompts,
                                                     const GenerationOptions& options)
{
    if (prompts.empty())
        return {};
    for (const auto& p : prompts)
        checkIds(model, p);
    torch::NoGradGuard noGrad;
    Sampler sampler(options.sampling);
    const std::int64_t B = static_cast<std::int64_t>(prompts.size());
    std::int64_t longest = 0;
    for (const auto& p : prompts)
        longest = std::max<std::int64_t>(longest, static_cast<std::int64_t>(p.size()));

    auto ids = torch::full({B, longest}, options.pad_token_id, torch::kLong);
    auto mask = torch::zeros({B, longest}, torch::kLong);
    for (std::int64_t b = 0; b < B; ++b) {
        const auto n = static_cast<std::int64_t>(prompts[b].size());
        ids[b].narrow(0, longest - n, n).copy_(torch::tensor(prompts[b], torch::kLong));
        mask[b].narrow(0, longest - n, n).fill_(1);
    }

    KVCache cache = model->makeCache();
    std::vector<std::vector<std::int64_t>> outputs(B);
    std::vector<std::vector<std::int64_t>> sequences(prompts.begin(), prompts.end());
    std::vector<bool> finished(B, false);
    auto hidden = model->hiddenStates(ids, mask, options.use_cache ? &cache : nullptr);
    for (std::int64_t step = 0; step < options.max_new_tokens; ++step) {
        if (options.cancel && options.cancel->load())
            break;
        auto logits = model->lmHead(hidden.select(1, hidden.size(1) - 1)).to(torch::kFloat32);
        const std::vector<std::int64_t> chosen = sampler.next(logits, sequences);
        auto next = torch::empty({B}, torch::kLong);
        bool allDone = true;
        for (std::int64_t b = 0; b < B; ++b) {
            if (finished[b]) {
                next[b] = options.pad_token_id;
                continue;
            }
            const std::int64_t token = chosen[static_cast<std::size_t>(b)];
            next[b] = token;
            outputs[b].push_back(token);
            sequences[b].push_back(token);
            if (std::find(options.eos_token_ids.begin(), options.eos_token_ids.end(), token) !=
                options.eos_token_ids.end())
                finished[b] = true;
            allDone = allDone && finished[b];
        }
        if (allDone || step + 1 == options.max_new_tokens)
            break;
        mask = torch::cat({mask, torch::ones({B, 1}, torch::kLong)}, 1);
        if (options.use_cache) {
            hidden = model->hiddenStates(next.unsqueeze(1), mask, &cache);
        } else {
            ids = torch::cat({ids, next.unsqueeze(1)}, 1);
            hidden = model->hiddenStates(ids, mask);
        }
    }
    return outputs;
}

std::vector<std::vector<std::int64_t>> greedyGenerateBatch(CausalLM& model,
                                                           const std::vector<std::vector<std::int64_t>>& prompts,
                                                           const GenerationOptions& options)
{
    GenerationOptions greedy = options;
    greedy.sampling = SamplingOptions{};
    return generateBatch(model, prompts, greedy);
}

PerplexityResult perplexity(CausalLM& model, const std::vector<std::int64_t>& input_ids)
{
    checkIds(model, input_ids);
    if (input_ids.size() < 2)
        fail("perplexity needs at least 2 tokens");
    torch::NoGradGuard noGrad;
    auto ids = idsTensor(input_ids);
    PerplexityResult result;
    result.loss = model->loss(ids, ids).item<double>();
    result.perplexity = std::exp(result.loss);
    result.tokens = static_cast<std::int64_t>(input_ids.size()) - 1;
    return result;
}

} // namespace lathe
