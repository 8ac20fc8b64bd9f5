// bench_model: prefill and decode speed and peak memory of the engine on one model folder.
//
//   bench_model --model DIR [--threads 2] [--dtype bf16] [--prompt 256] [--decode 64] [--runs 3] [--unfused true]
//               [--gemv-only true]  (each run also times the decode step's weight products alone, in the order a
//                                   step runs them, apart from everything else: where decode's time goes)
//               [--profile FILE]  (one more generation after the timed runs, under libtorch's profiler: a chrome
//                                  trace that tools/profile_ops.py sums by op)
//
// Prefill runs a `--prompt`-token prompt through the model (logits for the last position only, as
// generation does) and reports tokens/s and the GFLOP/s achieved, next to the peak GEMM throughput this
// program measures on the same machine in the same dtype (the best of several GEMM shapes, including the
// model's own). Decode generates `--decode` greedy tokens with the KV cache. Peak RSS is the process's
// high-water mark (getrusage), compared to the weight bytes in the compute dtype.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include "generation/generator.h"
#include "kernels/bf16_gemv.h"
#include "model/arch/architecture.h"
#include "model/model_loader.h"
#include "kernels/kernel_paths.h"
#include "read_bandwidth.h"
#include "reference_step.h"
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

double peakRssMiB()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss / 1024.0;
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// Best GEMM throughput over square and model-shaped problems: x[M,K] @ w[N,K]^T, as nn.Linear computes.
double peakGemmGflops(torch::ScalarType type, std::int64_t M, std::int64_t H, std::int64_t I)
{
    torch::NoGradGuard noGrad;
    struct Shape
    {
        std::int64_t m, k, n;
    };
    const std::vector<Shape> shapes = {{M, H, I}, {M, I, H}, {M, H, H}, {1024, 1024, 1024}, {2048, 2048, 2048}};
    double best = 0;
    for (const auto& s : shapes) {
        auto x = torch::randn({s.m, s.k}).to(type), w = torch::randn({s.n, s.k}).to(type);
        torch::linear(x, w); // warm-up
        int iterations = 0;
        const auto start = Clock::now();
        while (seconds(start) < 0.5) {
            torch::linear(x, w);
            ++iterations;
        }
        const double gflops = 2.0 * s.m * s.k * double(s.n) * iterations / seconds(start) / 1e9;
        std::printf("  gemm %5lld x %5lld x %5lld: %7.1f GFLOP/s\n", (long long)s.m, (long long)s.k, (long long)s.n,
                    gflops);
        best = std::max(best, gflops);
    }
    return best;
}

} // namespace

int main(int argc, char** argv)
{
    const std::string dir = option(argc, argv, "model", "");
    if (dir.empty()) {
        std::fprintf(stderr, "usage: bench_model --model DIR [--threads 2] [--dtype bf16] [--prompt 256] "
                             "[--decode 64] [--runs 3]\n");
        return 1;
    }
    const int threads = std::stoi(option(argc, argv, "threads", "2"));
    const std::int64_t promptLen = std::stoll(option(argc, argv, "prompt", "256"));
    const std::int64_t decodeLen = std::stoll(option(argc, argv, "decode", "64"));
    const int runs = std::stoi(option(argc, argv, "runs", "3"));
    lathe::setThreads(threads);
    const auto dtype = lathe::resolveDtype(option(argc, argv, "dtype", "bf16"), torch::kCPU);

    const auto loadStart = Clock::now();
    lathe::CausalLM model = lathe::loadModel(dir, {torch::kCPU, dtype});
    const double loadSeconds = seconds(loadStart);
    const auto& c = model->config();

    double weightBytes = 0, nonEmbeddingParams = 0;
    for (const auto& spec : lathe::tensorTable(c)) {
        double n = 1;
        for (auto d : spec.shape)
            n *= double(d);
        weightBytes += n * torch::elementSize(dtype);
        if (spec.name != "model.embed_tokens.weight" && spec.name != "lm_head.weight")
            nonEmbeddingParams += n;
    }
    // Prefill FLOPs: 2 per weight per token in the layers, attention scores and weighted sum (causal: about
    // half of T^2), and the lm_head for the last token only.
    const double T = double(promptLen);
    const double attnFlops = double(c.num_hidden_layers) * 2.0 * 2.0 * c.num_attention_heads * c.head_dim * T * T / 2.0;
    const double prefillFlops = 2.0 * nonEmbeddingParams * T + attnFlops + 2.0 * double(c.hidden_size) * c.vocab_size;

    std::printf("model %s: %s, %lld layers, hidden %lld, %.1f M non-embedding params, weights %.1f MiB in %s\n",
                dir.c_str(), c.architecture.c_str(), (long long)c.num_hidden_layers, (long long)c.hidden_size,
                nonEmbeddingParams / 1e6, weightBytes / 1048576.0, lathe::dtypeName(dtype).c_str());
    std::printf("threads %d, load %.2f s\n", threads, loadSeconds);

    torch::manual_seed(0);
    auto prompt = torch::randint(0, c.vocab_size, {promptLen}, torch::kLong);
    std::vector<std::int64_t> ids(prompt.data_ptr<std::int64_t>(), prompt.data_ptr<std::int64_t>() + promptLen);

    lathe::GenerationOptions options;
    options.max_new_tokens = decodeLen + 1; // the first new token comes from the prefill
    // Memory read bandwidth with the same threads over a 1 GiB buffer of distinct random pages (nothing to
    // deduplicate), in huge pages as the weights are (runtime/host_arena.cpp): the better of libtorch's sum of it as float32 and a plain OpenMP read of it as 64-bit words
    // (bench/read_bandwidth.h), each the best of three. Measured beside every run: this kind of VM's bandwidth
    // swings by 1.5x within minutes, so each run's decode is set against the bandwidth of its own moment.
    torch::Tensor big; // allocated after the warm-up run has set the engine's peak RSS
    volatile std::uint64_t sink = 0; // the reads' sums, kept so that they cannot be dropped
    auto readBandwidth = [&] {
        if (!big.defined()) {
            const std::int64_t n = std::int64_t(1) << 28;
            big = torch::from_blob(bench::allocateLikeWeights(std::size_t(n) * 4), {n}, std::free,
                                   torch::kFloat32)
                      .uniform_();
        }
        torch::NoGradGuard noGrad;
        double best = 0;
        for (int i = 0; i < 3; ++i) {
            auto start = Clock::now();
            (void)big.sum().item<float>();
            best = std::max(best, double(big.numel()) * 4 / seconds(start) / 1e9);
            start = Clock::now();
            sink = sink + bench::readWords(reinterpret_cast<const std::uint64_t*>(big.data_ptr()), big.numel() / 2, threads);
            best = std::max(best, double(big.numel()) * 4 / seconds(start) / 1e9);
        }
        return best;
    };
    // --unfused true: every run decodes a second time with libtorch's op chains between the products
    // (LATHE_KERNELS fused=torch) for an A/B in the same minutes.
    const bool compareUnfused = option(argc, argv, "unfused", "false") == "true";
    const lathe::KernelPaths chosenPaths = lathe::kernelPaths();
    lathe::KernelPaths unfusedPaths = chosenPaths;
    unfusedPaths.fused = false;
    // --gemv-only true: the products of a decode step alone, one token's worth (every linear layer's weight, q/k/v
    // and gate/up in one pass each as the engine runs them, then the lm_head), on a random row per input width.
    std::vector<std::vector<torch::Tensor>> productGroups;
    if (option(argc, argv, "gemv-only", "false") == "true") {
        std::string pendingKind;
        for (const auto& item : model->named_modules()) {
            const auto linear = std::dynamic_pointer_cast<lathe::LinearImpl>(item.value());
            if (!linear)
                continue;
            const std::string leaf = item.key().substr(item.key().rfind('.') + 1);
            const std::string kind = leaf == "q_proj" || leaf == "k_proj" || leaf == "v_proj" ? "qkv"
                                     : leaf == "gate_proj" || leaf == "up_proj"               ? "gate_up"
                                                                                                : leaf;
            if (kind == pendingKind && (kind == "qkv" || kind == "gate_up") && !productGroups.empty())
                productGroups.back().push_back(linear->weight);
            else
                productGroups.push_back({linear->weight});
            pendingKind = kind;
        }
        if (c.tie_word_embeddings)
            for (const auto& item : model->named_parameters())
                if (item.key().find("embed_tokens.weight") != std::string::npos)
                    productGroups.push_back({item.value()});
    }
    auto productsAlone = [&](std::int64_t tokens) {
        torch::NoGradGuard noGrad;
        std::map<std::int64_t, torch::Tensor> rows;
        for (const auto& group : productGroups)
            if (!rows.count(group[0].size(1)))
                rows[group[0].size(1)] = torch::randn({1, 1, group[0].size(1)}).to(group[0].scalar_type());
        const auto start = Clock::now();
        for (std::int64_t t = 0; t < tokens; ++t)
            for (const auto& group : productGroups)
                if (!lathe::bf16GemvMany(rows[group[0].size(1)], group, std::vector<torch::Tensor>(group.size()))[0].defined())
                    throw std::runtime_error("--gemv-only: the decode GEMV does not take these weights");
        return double(tokens) / seconds(start);
    };
    std::vector<double> prefill, decode, decodeUnfused, prefillUnfused, bandwidths, alone;
    double rss = 0;
    for (int run = 0; run < runs + 1; ++run) { // run 0 warms up (page faults, allocator, oneDNN kernels)
        const auto result = lathe::greedyGenerate(model, ids, options);
        double unfusedTps = 0, unfusedPrefill = 0;
        if (compareUnfused) {
            lathe::setKernelPaths(unfusedPaths);
            const auto other = lathe::greedyGenerate(model, ids, options);
            lathe::setKernelPaths(chosenPaths);
            unfusedTps = double(other.output_ids.size() - 1) / other.decode_seconds;
            unfusedPrefill = T / other.prefill_seconds;
        }
        if (run == 0) {
            rss = peakRssMiB(); // the engine's own: before the bandwidth buffer and the reference's weights
            continue;
        }
        if (!productGroups.empty())
            alone.push_back(productsAlone(decodeLen));
        const double bw = readBandwidth();
        prefill.push_back(T / result.prefill_seconds);
        decode.push_back(double(result.output_ids.size() - 1) / result.decode_seconds);
        bandwidths.push_back(bw);
        std::printf("run %d: prefill %.1f tok/s, decode %.2f tok/s", run, prefill.back(), decode.back());
        if (compareUnfused) {
            decodeUnfused.push_back(unfusedTps);
            prefillUnfused.push_back(unfusedPrefill);
            std::printf(" (libtorch's ops between the products: prefill %.1f, decode %.2f tok/s)", unfusedPrefill,
                        unfusedTps);
        }
        if (!productGroups.empty())
            std::printf(", the products alone %.2f tok/s", alone.back());
        std::printf(", read bandwidth %.1f GB/s\n", bw);
    }
    const double prefillTps = median(prefill), decodeTps = median(decode);
    std::printf("bf16 kernels: %s\n", lathe::describeKernelPaths(lathe::kernelPaths()).c_str());

    // The peer in the same run: the prefill written as transformers computes it (bench/reference_step.h).
    double referenceTps = 0;
    if (const std::string profile = option(argc, argv, "profile", ""); !profile.empty()) {
        torch::autograd::profiler::RecordProfile recording(profile);
        (void)lathe::greedyGenerate(model, ids, options);
    }
    if (option(argc, argv, "reference", "true") == "true" && c.model_type != "qwen3_moe") {
        auto ref = bench_ref::load(dir, 0, 16, promptLen, false);
        const auto batchIds = prompt.unsqueeze(0);
        std::vector<double> times;
        for (int run = 0; run < runs + 1; ++run) {
            const auto start = Clock::now();
            (void)bench_ref::lastLogits(ref, batchIds);
            if (run > 0)
                times.push_back(T / seconds(start));
        }
        referenceTps = median(times);
    }
    // Bytes a decode step reads: every weight once (the embedding table once more as a tied lm_head).
    const double bytesPerToken = weightBytes + (c.tie_word_embeddings ? double(c.vocab_size) * c.hidden_size *
                                                                            torch::elementSize(dtype)
                                                                      : 0.0) -
                                 double(c.vocab_size) * c.hidden_size * torch::elementSize(dtype);
    const double achieved = prefillFlops * prefillTps / T / 1e9;

    std::printf("peak GEMM throughput (libtorch torch::linear, %s, %d threads):\n", lathe::dtypeName(dtype).c_str(),
                threads);
    double peak = peakGemmGflops(dtype, promptLen, c.hidden_size, c.intermediate_size);
    if (dtype != torch::kFloat32) {
        // Without native bf16/fp16 units, libtorch's half-precision GEMM is far below the float32 one, and the
        // engine widens weights to float32 for GEMMs: the float32 peak is then the honest ceiling.
        std::printf("peak GEMM throughput (float32, %d threads):\n", threads);
        peak = std::max(peak, peakGemmGflops(torch::kFloat32, promptLen, c.hidden_size, c.intermediate_size));
    }
    std::printf("\nRESULT prefill %lld tokens: %.1f tok/s = %.1f GFLOP/s = %.0f%% of peak %.1f GFLOP/s\n",
                (long long)promptLen, prefillTps, achieved, 100.0 * achieved / peak, peak);
    std::printf("RESULT decode %lld tokens: %.2f tok/s (%.1f ms/token)\n", (long long)decodeLen, decodeTps,
                1000.0 / decodeTps);
    if (referenceTps > 0)
        std::printf("RESULT prefill reference (transformers way, plain libtorch): %.1f tok/s; Lathe / reference %.2fx\n",
                    referenceTps, prefillTps / referenceTps);
    std::vector<double> shares; // each run's decode against the bandwidth measured beside it
    for (std::size_t i = 0; i < decode.size(); ++i)
        shares.push_back(100.0 * decode[i] * bytesPerToken / (bandwidths[i] * 1e9));
    const double bandwidth = median(bandwidths);
    std::printf("RESULT read bandwidth %.1f GB/s (median; %.1f-%.1f), %.0f MB read per token: limit %.1f tok/s; "
                "decode reaches %.0f%% (median of the runs' own shares, %.0f-%.0f%%)\n",
                bandwidth, *std::min_element(bandwidths.begin(), bandwidths.end()),
                *std::max_element(bandwidths.begin(), bandwidths.end()), bytesPerToken / 1e6,
                bandwidth * 1e9 / bytesPerToken, median(shares), *std::min_element(shares.begin(), shares.end()),
                *std::max_element(shares.begin(), shares.end()));
    if (!alone.empty()) {
        std::vector<double> aloneShares;
        for (std::size_t i = 0; i < alone.size(); ++i)
            aloneShares.push_back(100.0 * alone[i] * bytesPerToken / (bandwidths[i] * 1e9));
        std::printf("RESULT the products alone: %.2f tok/s, %.0f%% of the bandwidth (median; %.0f-%.0f%%); a decode "
                    "step takes %.1f ms, its products alone %.1f ms\n",
                    median(alone), median(aloneShares), *std::min_element(aloneShares.begin(), aloneShares.end()),
                    *std::max_element(aloneShares.begin(), aloneShares.end()), 1000.0 / decodeTps,
                    1000.0 / median(alone));
    }
    if (compareUnfused)
        std::printf("RESULT with libtorch's ops between the products: prefill %.1f tok/s (fused / libtorch %.2fx), "
                    "decode %.2f tok/s (fused / libtorch %.2fx)\n",
                    median(prefillUnfused), prefillTps / median(prefillUnfused), median(decodeUnfused),
                    decodeTps / median(decodeUnfused));
    std::printf("RESULT peak RSS %.1f MiB = %.2fx the %.1f MiB of weights (after the warm-up run)\n", rss,
                rss / (weightBytes / 1048576.0), weightBytes / 1048576.0);
    return 0;
}
