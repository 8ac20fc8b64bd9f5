// bench_train: LoRA fine-tuning speed and peak memory of the trainer (runTraining, as `lathe train` runs it).
//
//   bench_train --model DIR --tokenizer DIR [--batch 1] [--seq 256] [--steps 8] [--threads 2] [--dtype bf16]
//               [--ckpt true] [--rank 8] [--learned 1.0] [--out /tmp/bench_train] [--reference true|false|only]
//
// --reference also times the same step written the way transformers + PEFT compute it (reference_step.h), first,
// in a forked process of its own, and prints the ratio and its peak RSS; `only` runs just the reference.
// The bf16 kernel paths in force are printed (LATHE_KERNELS=... forces them).
//
// The data is generated text (a fixed seeded word salad tokenized by the model's tokenizer) as SFT examples
// of exactly `--seq` tokens, of which the last `--learned` share is the learned answer (1.0: every token, as
// pretraining). Steps after the first two are timed. Reported: tokens/s, the GFLOP/s that means at 4 x
// parameters FLOPs per token (forward 2N + input gradients 2N; a LoRA's own FLOPs and checkpointing's
// recomputation not counted), the machine's GEMM peak in float32 and Lathe's bf16 linear (bf16 weights
// widened to float32 blocks, see kernels/bf16_gemv.h) and libtorch's own bf16 GEMM, and the peak RSS.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include "config/argument_schema.h"
#include "kernels/kernel_paths.h"
#include "reference_step.h"
#include "kernels/bf16_gemv.h"
#include "model/model_config.h"
#include "runtime/device.h"
#include "tokenizer/tokenizer.h"
#include "train/trainer.h"
#include "util/file_util.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string option(int argc, char** argv, const std::string& key, const std::string& fallback)
{
    for (int i = 1; i + 1 < argc; ++i)
        if (argv[i] == "--" + key)
            return argv[i + 1];
    return fallback;
}

double seconds(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// x[M,K] W[N,K]^T throughput of `linear` for the model's shapes, best of them.
template <class F>
double gemmPeak(const char* name, F linear, torch::ScalarType wType, std::int64_t M, std::int64_t H, std::int64_t I)
{
    torch::NoGradGuard noGrad;
    double best = 0;
    for (auto [k, n] : std::vector<std::pair<std::int64_t, std::int64_t>>{{H, I}, {I, H}, {H, H}}) {
        auto x = torch::randn({M, k}).to(wType), w = torch::randn({n, k}).to(wType);
        linear(x, w);
        int it = 0;
        const auto start = Clock::now();
        while (seconds(start) < 0.5) {
            linear(x, w);
            ++it;
        }
        best = std::max(best, 2.0 * double(M) * double(k) * double(n) * it / seconds(start) / 1e9);
    }
    std::printf("  %-34s %7.1f GFLOP/s\n", name, best);
    return best;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        const std::string model = option(argc, argv, "model", "");
        const std::string tokenizerDir = option(argc, argv, "tokenizer", model);
        if (model.empty()) {
            std::fprintf(stderr, "usage: bench_train --model DIR [--tokenizer DIR] [--batch 1] [--seq 256] ...\n");
            return 2;
        }
        const int batch = std::stoi(option(argc, argv, "batch", "1"));
        const int seq = std::stoi(option(argc, argv, "seq", "256"));
        const int steps = std::stoi(option(argc, argv, "steps", "8"));
        const int threads = std::stoi(option(argc, argv, "threads", "2"));
        const std::string dtype = option(argc, argv, "dtype", "bf16");
        const std::string ckpt = option(argc, argv, "ckpt", "true");
        const double learned = std::stod(option(argc, argv, "learned", "1.0"));
        const fs::path out = option(argc, argv, "out", "/tmp/bench_train");
        const std::string reference = option(argc, argv, "reference", "true");
        lathe::setThreads(threads);
        std::printf("CPU: %s, %d threads\n", lathe::cpuModelName().c_str(), threads);
        auto runReference = [&]() {
            auto m = bench_ref::load(model, std::stoll(option(argc, argv, "rank", "8")),
                                     2.0 * std::stod(option(argc, argv, "rank", "8")), seq, ckpt == "true");
            double lastLoss = 0;
            const double tps = bench_ref::tokensPerSecond(m, batch, seq, std::max(2, steps - 2), &lastLoss);
            std::printf("  reference (transformers + PEFT way, plain libtorch): %.1f tokens/s  (loss %.4f)\n", tps,
                        lastLoss);
            return tps;
        };
        if (reference == "only") {
            std::unique_ptr<torch::autograd::profiler::RecordProfile> profiler;
            if (!option(argc, argv, "profile", "").empty())
                profiler = std::make_unique<torch::autograd::profiler::RecordProfile>(option(argc, argv, "profile", ""));
            runReference();
            profiler.reset();
            rusage usage{};
            getrusage(RUSAGE_SELF, &usage);
            std::printf("  reference peak RSS  %8.0f MiB\n", usage.ru_maxrss / 1024.0);
            return 0;
        }
        // The reference runs first, in a process of its own: in this one Lathe's allocator settings (freed memory
        // kept) would speed it up, and its peak RSS would mix with Lathe's.
        double referenceTps = 0, referenceRss = 0;
        if (reference == "true") {
            int fds[2];
            if (pipe(fds) != 0)
                throw std::runtime_error("pipe failed");
            const pid_t child = fork();
            if (child == 0) {
                close(fds[0]);
                double values[2] = {0, 0};
                try {
                    values[0] = runReference();
                    rusage usage{};
                    getrusage(RUSAGE_SELF, &usage);
                    values[1] = usage.ru_maxrss / 1024.0;
                } catch (const std::exception& e) {
                    std::fprintf(stderr, "reference: %s\n", e.what());
                }
                if (write(fds[1], values, sizeof values) != sizeof values)
                    _exit(1);
                _exit(0);
            }
            close(fds[1]);
            double values[2] = {0, 0};
            if (read(fds[0], values, sizeof values) != sizeof values)
                throw std::runtime_error("the reference process failed");
            close(fds[0]);
            waitpid(child, nullptr, 0);
            referenceTps = values[0];
            referenceRss = values[1];
        }
        std::printf("bf16 kernels: %s\n", lathe::describeKernelPaths(lathe::kernelPaths()).c_str());

        // The tokenizer files travel with the model folder the trainer reads.
        for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
            if (!fs::exists(fs::path(model) / f) && fs::exists(fs::path(tokenizerDir) / f))
                fs::copy_file(fs::path(tokenizerDir) / f, fs::path(model) / f);
        const auto tokenizer = lathe::Tokenizer::fromDirectory(model);

        // SFT records whose prompt + answer fill `seq` tokens under the qwen template (about 10 template tokens).
        fs::create_directories(out / "data");
        std::mt19937 rng(7);
        const char* words[] = {"lathe", "model", "train", "token", "weight", "adapter", "loss", "step",
                               "data",  "query", "value", "layer", "norm",  "matrix",  "rank", "export"};
        auto text = [&](int tokens) {
            std::string s;
            while (int(tokenizer->encode(s).size()) < tokens)
                s += std::string(s.empty() ? "" : " ") + words[rng() % 16];
            return s;
        };
        const int budget = seq - 12;
        const int answer = std::max(1, int(budget * learned));
        nlohmann::json records = nlohmann::json::array();
        for (int i = 0; i < batch * (steps + 1); ++i)
            records.push_back({{"instruction", budget - answer > 0 ? text(budget - answer) : std::string("go")},
                               {"input", ""},
                               {"output", text(answer)}});
        lathe::writeTextFileAtomic((out / "data/bench.json").string(), records.dump());
        lathe::writeTextFileAtomic((out / "data/dataset_info.json").string(),
                                   nlohmann::json{{"bench", {{"file_name", "bench.json"}}}}.dump());

        lathe::ArgumentSet args;
        for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
                 {"model_name_or_path", model},
                 {"stage", "sft"},
                 {"do_train", "true"},
                 {"finetuning_type", "lora"},
                 {"lora_rank", option(argc, argv, "rank", "8")},
                 {"lora_target", "all"},
                 {"dataset", "bench"},
                 {"dataset_dir", (out / "data").string()},
                 {"template", "qwen"},
                 {"cutoff_len", std::to_string(seq)},
                 {"output_dir", (out / "run").string()},
                 {"overwrite_output_dir", "true"},
                 {"tokenized_path", (out / "cache").string()},
                 {"per_device_train_batch_size", std::to_string(batch)},
                 {"max_steps", std::to_string(steps)},
                 {"save_steps", "100000"},
                 {"logging_steps", "1"},
                 {"learning_rate", "1e-4"},
                 {"disable_gradient_checkpointing", ckpt == "true" ? "false" : "true"},
                 {dtype == "bf16" ? "bf16" : "fp16", dtype == "bf16" ? "true" : "false"}})
            args.set(k, v);

        std::vector<double> stamps;
        std::vector<std::int64_t> tokens;
        lathe::TrainCallbacks cb;
        cb.log = [](const std::string& line) {
            if (line.rfind("Memory estimate", 0) == 0 || line.rfind("trainable params", 0) == 0)
                std::printf("  %s\n", line.c_str());
        };
        // --alternate fused|lora: the steps alternate between the fused ops and libtorch's op chains (LATHE_KERNELS
        // fused=lathe / fused=torch), or between the LoRA products' paths (lora=lathe / lora=blas): an A/B inside
        // one run, where this kind of VM's drift cannot favour either.
        const std::string alternate = option(argc, argv, "alternate", "");
        if (!alternate.empty() && alternate != "fused" && alternate != "lora")
            throw std::runtime_error("--alternate takes fused or lora");
        const lathe::KernelPaths chosenPaths = lathe::kernelPaths();
        // Whether the paths in force are the A side (fused ops; the thin LoRA kernels), and the label of each side.
        auto sideA = [&] {
            return alternate == "lora" ? lathe::kernelPaths().lora == lathe::ThinPath::Lathe : lathe::kernelPaths().fused;
        };
        const char* labels[2] = {alternate == "lora" ? "lora blas" : "libtorch ops",
                                 alternate == "lora" ? "lora lathe" : "fused"};
        std::vector<bool> stepA; // the side each step ran with
        cb.progress = [&](const lathe::TrainProgress& p) {
            if (p.loss) {
                stamps.push_back(p.elapsedSeconds);
                tokens.push_back(p.tokensSeen);
                stepA.push_back(sideA());
                std::printf("  step %lld: loss %.4f  %.1f s%s%s%s\n", (long long)p.step, *p.loss, p.elapsedSeconds,
                            alternate.empty() ? "" : "  (", alternate.empty() ? "" : labels[sideA() ? 1 : 0],
                            alternate.empty() ? "" : ")");
                std::fflush(stdout);
                if (!alternate.empty()) {
                    lathe::KernelPaths next = chosenPaths;
                    if (alternate == "lora")
                        next.lora = sideA() ? lathe::ThinPath::Blas : lathe::ThinPath::Lathe;
                    else
                        next.fused = !sideA();
                    lathe::setKernelPaths(next);
                }
            }
        };
        // --profile FILE: libtorch's profiler over the whole run (a chrome trace; tools/profile_ops.py sums it by op).
        const std::string profile = option(argc, argv, "profile", "");
        std::unique_ptr<torch::autograd::profiler::RecordProfile> profiler;
        if (!profile.empty())
            profiler = std::make_unique<torch::autograd::profiler::RecordProfile>(profile);
        const auto result = lathe::runTraining(args, cb);
        profiler.reset();
        if (stamps.size() < 4)
            throw std::runtime_error("too few steps to time (use --steps >= 4)");
        const double tps = double(tokens.back() - tokens[1]) / (stamps.back() - stamps[1]);
        if (!alternate.empty()) {
            std::vector<double> seconds[2];
            for (std::size_t i = 2; i < stamps.size(); ++i)
                seconds[stepA[i] ? 1 : 0].push_back((stamps[i] - stamps[i - 1]) / double(tokens[i] - tokens[i - 1]));
            for (auto& v : seconds)
                std::sort(v.begin(), v.end());
            if (!seconds[0].empty() && !seconds[1].empty())
                std::printf("  alternating steps: %s %.1f tokens/s, %s %.1f tokens/s (medians of %zu and %zu steps): %.3fx\n",
                            labels[1], 1 / seconds[1][seconds[1].size() / 2], labels[0],
                            1 / seconds[0][seconds[0].size() / 2], seconds[1].size(), seconds[0].size(),
                            seconds[0][seconds[0].size() / 2] / seconds[1][seconds[1].size() / 2]);
        }

        // Parameters that take part in a matmul per token: every linear layer, and lm_head (tied or not).
        const auto config = lathe::ModelConfig::fromDir(model);
        const double H = double(config.hidden_size), D = double(config.head_dim);
        const double perLayer = H * D * (2.0 * config.num_attention_heads + 2.0 * config.num_key_value_heads) +
                                3.0 * H * double(config.intermediate_size);
        const double params = perLayer * double(config.num_hidden_layers) + H * double(config.vocab_size);
        rusage usage{};
        getrusage(RUSAGE_SELF, &usage);
        std::printf("\nLoRA SFT r%s all-linear, %s, seq %d, batch %d, %d threads, checkpointing %s, learned %.0f%%\n",
                    option(argc, argv, "rank", "8").c_str(), dtype.c_str(), seq, batch, threads, ckpt.c_str(),
                    learned * 100);
        std::printf("  tokens/s            %8.1f  (steps 3-%d)\n", tps, steps);
        std::printf("  achieved            %8.1f GFLOP/s  (4 x %.0fM matmul params per token)\n", tps * 4 * params / 1e9,
                    params / 1e6);
        std::printf("  peak RSS            %8.0f MiB\n", usage.ru_maxrss / 1024.0);
        std::printf("  final loss          %8.4f  (%lld steps)\n", result.stepLosses.back(),
                    (long long)result.globalStep);
        if (reference == "true") {
            const double ref = referenceTps;
            std::printf("  reference (transformers + PEFT way, plain libtorch, own process): %.1f tokens/s, "
                        "peak RSS %.0f MiB\n", ref, referenceRss);
            std::printf("  Lathe / reference   %8.2fx\n", tps / ref);
        }
        std::printf("GEMM peaks on this machine (M = %d):\n", batch * seq);
        const std::int64_t M = std::int64_t(batch) * seq;
        gemmPeak("float32 (libtorch)", [](auto& x, auto& w) { return torch::linear(x, w); }, torch::kFloat32, M,
                 config.hidden_size, config.intermediate_size);
        gemmPeak("bf16 weights via float32 (Lathe)",
                 [](auto& x, auto& w) {
                     auto y = lathe::bf16LinearViaFloat(x, w, {});
                     return y.defined() ? y : torch::linear(x, w);
                 },
                 torch::kBFloat16, M, config.hidden_size, config.intermediate_size);
        if (option(argc, argv, "native_bf16", "false") == "true")
            gemmPeak("bf16 (libtorch oneDNN)", [](auto& x, auto& w) { return torch::linear(x, w); },
                     torch::kBFloat16, std::min<std::int64_t>(M, 64), config.hidden_size, config.intermediate_size);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_train: %s\n", e.what());
        return 1;
    }
}
