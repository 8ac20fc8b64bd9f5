// bench_predict: batched prediction throughput (generated tokens/s) of the engine's left-padded batch
// generation, as `lathe predict` / do_predict run it, at batch 1 and at --batch on one model folder.
//
//   bench_predict --model DIR [--threads 2] [--dtype bf16] [--device auto] [--batch 4] [--samples 8]
//                 [--prompt 32] [--new 32]
//
// --samples prompts of random lengths around --prompt tokens (seeded, so runs compare) are generated greedily
// for exactly --new tokens each (no stop ids, so every row does the same work), once one prompt at a time and
// once in batches of --batch. Reported: generated tokens/s of each and the speed-up; the goal of the
// inference issue is batched >= 2x batch 1. Also: how many rows the batched run generated identically to the
// one-at-a-time run (greedy; reduced precision may flip near-ties).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "generation/generator.h"
#include "model/model_loader.h"
#include "runtime/device.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string option(int argc, char** argv, const std::string& key, const std::string& fallback)
{
    for (int i = 1; i + 1 < argc; ++i)
        if (argv[i] == "--" + key)
            return argv[i + 1];
    return fallback;
}

// Generates every prompt in batches of `batch`; returns the outputs and the seconds taken.
std::pair<std::vector<std::vector<std::int64_t>>, double> run(lathe::CausalLM& model,
                                                              const std::vector<std::vector<std::int64_t>>& prompts,
                                                              std::size_t batch, const lathe::GenerationOptions& gen)
{
    std::vector<std::vector<std::int64_t>> outputs;
    const auto start = Clock::now();
    for (std::size_t i = 0; i < prompts.size(); i += batch) {
        std::vector<std::vector<std::int64_t>> chunk(prompts.begin() + std::ptrdiff_t(i),
                                                     prompts.begin() + std::ptrdiff_t(std::min(prompts.size(), i + batch)));
        for (auto& o : lathe::generateBatch(model, chunk, gen))
            outputs.push_back(std::move(o));
    }
    if (torch::cuda::is_available())
        torch::cuda::synchronize();
    return {outputs, seconds(start)};
}

} // namespace

int main(int argc, char** argv)
{
    const std::string dir = option(argc, argv, "model", "");
    if (dir.empty()) {
        std::fprintf(stderr, "usage: bench_predict --model DIR [--threads N] [--dtype bf16|fp32] [--device auto] "
                             "[--batch 4] [--samples 8] [--prompt 32] [--new 32]\n");
        return 2;
    }
    try {
        lathe::setThreads(std::stoi(option(argc, argv, "threads", "0")));
        const auto device = lathe::resolveDevice(option(argc, argv, "device", "auto"));
        const auto dtype = lathe::resolveDtype(option(argc, argv, "dtype", "auto"), device);
        const std::size_t batch = std::size_t(std::max(1, std::stoi(option(argc, argv, "batch", "4"))));
        const int samples = std::max(1, std::stoi(option(argc, argv, "samples", "8")));
        const int promptLen = std::max(2, std::stoi(option(argc, argv, "prompt", "32")));
        const int newTokens = std::max(1, std::stoi(option(argc, argv, "new", "32")));

        auto model = lathe::loadModel(dir, lathe::LoadOptions{device, dtype});
        model->eval();
        const auto vocab = model->config().vocab_size;
        std::mt19937_64 rng(7);
        std::vector<std::vector<std::int64_t>> prompts;
        for (int s = 0; s < samples; ++s) {
            // Lengths in [promptLen/2, promptLen]: the batch is left-padded as real prediction sets are.
            const int len = promptLen / 2 + int(rng() % std::uint64_t(promptLen - promptLen / 2 + 1));
            std::vector<std::int64_t> p;
            for (int t = 0; t < len; ++t)
                p.push_back(std::int64_t(rng() % std::uint64_t(std::min<std::int64_t>(vocab, 32000))));
            prompts.push_back(std::move(p));
        }
        lathe::GenerationOptions gen;
        gen.max_new_tokens = newTokens; // no eos ids: every row generates exactly newTokens

        std::printf("model %s, %s on %s, threads %d, %d samples, prompts <= %d tokens, %d new tokens each\n",
                    dir.c_str(), lathe::dtypeName(dtype).c_str(), device.str().c_str(), torch::get_num_threads(),
                    samples, promptLen, newTokens);
        run(model, {prompts.front()}, 1, gen); // warm-up
        const auto [single, t1] = run(model, prompts, 1, gen);
        const auto [batched, tb] = run(model, prompts, batch, gen);
        const double tokens = double(samples) * double(newTokens);
        int same = 0;
        for (int s = 0; s < samples; ++s)
            same += single[std::size_t(s)] == batched[std::size_t(s)];
        std::printf("batch 1 : %8.2f s  %9.1f generated tok/s\n", t1, tokens / t1);
        std::printf("batch %zu : %8.2f s  %9.1f generated tok/s  (%.2fx batch 1)\n", batch, tb, tokens / tb, t1 / tb);
        std::printf("rows identical to batch 1: %d of %d\n", same, samples);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_predict: %s\n", e.what());
        return 1;
    }
    return 0;
}
