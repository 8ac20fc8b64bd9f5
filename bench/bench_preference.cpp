// bench_preference: preference training speed against SFT on the same machine, in the same run.
//
//   bench_preference --model DIR [--tokenizer DIR] [--stage dpo] [--loss sigmoid] [--prompt 128] [--answer 128]
//                    [--steps 5] [--rounds 2] [--threads 2] [--dtype bf16] [--out /tmp/bench_preference]
//
// Data: generated text (a seeded word salad tokenized by the model's tokenizer). Each pair is one prompt of
// `--prompt` tokens with a chosen and a rejected answer of `--answer` tokens, so each of its two sequences
// is prompt + answer tokens long (256 + 256 with the defaults). The SFT baseline trains on the chosen
// sequences alone (prompt masked, the same lengths). Both run through runTraining (what `lathe train` runs)
// with LoRA r8 on every linear layer and gradient checkpointing (LLaMA-Factory's defaults), batch 1, and
// take turns `--rounds` times so that a drifting machine affects both alike. Reported: tokens/s of each run
// (every non-padding token of every sequence that goes through the model with gradients: a DPO pair counts
// both of its sequences), steps after the second timed, the ratio stage / SFT of each round and the median.
// A DPO pair costs a policy forward and backward on both sequences plus a reference forward on both.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <sys/resource.h>

#include "config/argument_schema.h"
#include "runtime/device.h"
#include "tokenizer/tokenizer.h"
#include "train/trainer.h"
#include "util/file_util.h"

namespace {

namespace fs = std::filesystem;

std::string option(int argc, char** argv, const std::string& key, const std::string& fallback)
{
    for (int i = 1; i + 1 < argc; ++i)
        if (argv[i] == "--" + key)
            return argv[i + 1];
    return fallback;
}

struct Timing
{
    double tokensPerSecond = 0;
    double seconds = 0;
};

Timing timeRun(const lathe::ArgumentSet& args, const char* label)
{
    std::vector<double> stamps;
    std::vector<std::int64_t> tokens;
    lathe::TrainCallbacks cb;
    cb.progress = [&](const lathe::TrainProgress& p) {
        if (!p.loss)
            return;
        stamps.push_back(p.elapsedSeconds);
        tokens.push_back(p.tokensSeen);
        std::printf("    %s step %lld: loss %.4f  %.1f s\n", label, (long long)p.step, *p.loss, p.elapsedSeconds);
        std::fflush(stdout);
    };
    lathe::runTraining(args, cb);
    if (stamps.size() < 4)
        throw std::runtime_error("too few steps to time (use --steps >= 4)");
    Timing t;
    t.seconds = stamps.back() - stamps[1];
    t.tokensPerSecond = double(tokens.back() - tokens[1]) / t.seconds;
    return t;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        const std::string model = option(argc, argv, "model", "");
        const std::string tokenizerDir = option(argc, argv, "tokenizer", model);
        if (model.empty()) {
            std::fprintf(stderr, "usage: bench_preference --model DIR [--tokenizer DIR] [--stage dpo] ...\n");
            return 2;
        }
        const std::string stage = option(argc, argv, "stage", "dpo");
        const int promptTokens = std::stoi(option(argc, argv, "prompt", "128"));
        const int answerTokens = std::stoi(option(argc, argv, "answer", "128"));
        const int steps = std::stoi(option(argc, argv, "steps", "5"));
        const int rounds = std::stoi(option(argc, argv, "rounds", "2"));
        const int threads = std::stoi(option(argc, argv, "threads", "2"));
        const std::string dtype = option(argc, argv, "dtype", "bf16");
        const fs::path out = option(argc, argv, "out", "/tmp/bench_preference");
        lathe::setThreads(threads);

        for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
            if (!fs::exists(fs::path(model) / f) && fs::exists(fs::path(tokenizerDir) / f))
                fs::copy_file(fs::path(tokenizerDir) / f, fs::path(model) / f);
        const auto tokenizer = lathe::Tokenizer::fromDirectory(model);

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
        // About 10 template tokens around the prompt and the answer.
        const int prompt = promptTokens - 10, answer = answerTokens - 2;
        nlohmann::json pairs = nlohmann::json::array(), sft = nlohmann::json::array(), kto = nlohmann::json::array();
        for (int i = 0; i < steps + 1; ++i) {
            const std::string p = text(prompt), chosen = text(answer), rejected = text(answer);
            pairs.push_back({{"instruction", p}, {"chosen", chosen}, {"rejected", rejected}});
            sft.push_back({{"instruction", p}, {"input", ""}, {"output", chosen}});
            kto.push_back({{"instruction", p}, {"output", chosen}, {"label", i % 2 == 0}});
        }
        lathe::writeTextFileAtomic((out / "data/pairs.json").string(), pairs.dump());
        lathe::writeTextFileAtomic((out / "data/sft.json").string(), sft.dump());
        lathe::writeTextFileAtomic((out / "data/kto.json").string(), kto.dump());
        const nlohmann::json info = {
            {"pairs", {{"file_name", "pairs.json"}, {"ranking", true},
                       {"columns", {{"prompt", "instruction"}, {"chosen", "chosen"}, {"rejected", "rejected"}}}}},
            {"sft", {{"file_name", "sft.json"}}},
            {"kto", {{"file_name", "kto.json"}, {"columns", {{"prompt", "instruction"}, {"response", "output"}, {"kto_tag", "label"}}}}}};
        lathe::writeTextFileAtomic((out / "data/dataset_info.json").string(), info.dump());

        auto argsFor = [&](const std::string& s) {
            lathe::ArgumentSet args;
            for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
                     {"model_name_or_path", model},
                     {"stage", s},
                     {"do_train", "true"},
                     {"finetuning_type", "lora"},
                     {"lora_rank", "8"},
                     {"lora_target", "all"},
                     {"dataset", s == "sft" ? "sft" : s == "kto" ? "kto" : "pairs"},
                     {"dataset_dir", (out / "data").string()},
                     {"template", "qwen"},
                     {"cutoff_len", std::to_string(2 * (promptTokens + answerTokens))},
                     {"output_dir", (out / ("run_" + s)).string()},
                     {"overwrite_output_dir", "true"},
                     {"tokenized_path", (out / "cache").string()},
                     {"per_device_train_batch_size", "1"},
                     {"max_steps", std::to_string(steps)},
                     {"save_steps", "100000"},
                     {"logging_steps", "1"},
                     {"learning_rate", "1e-5"},
                     {dtype == "bf16" ? "bf16" : "fp16", dtype == "bf16" ? "true" : "false"}})
                args.set(k, v);
            if (s == "dpo")
                args.set("pref_loss", option(argc, argv, "loss", "sigmoid"));
            return args;
        };

        std::vector<double> ratios;
        for (int r = 0; r < rounds; ++r) {
            std::printf("round %d\n", r + 1);
            const Timing base = timeRun(argsFor("sft"), "sft");
            const Timing pref = timeRun(argsFor(stage), stage.c_str());
            ratios.push_back(pref.tokensPerSecond / base.tokensPerSecond);
            std::printf("  sft %.1f tokens/s, %s %.1f tokens/s: %.2fx\n", base.tokensPerSecond, stage.c_str(),
                        pref.tokensPerSecond, ratios.back());
            std::fflush(stdout);
        }
        std::sort(ratios.begin(), ratios.end());
        rusage usage{};
        getrusage(RUSAGE_SELF, &usage);
        std::printf("\n%s vs SFT: LoRA r8 all-linear, %s, sequences of %d + %d tokens, batch 1, %d threads, "
                    "checkpointing on\n",
                    stage.c_str(), dtype.c_str(), promptTokens, answerTokens, threads);
        std::printf("  median ratio of tokens/s  %.2fx (%d rounds)\n", ratios[ratios.size() / 2], rounds);
        std::printf("  peak RSS                  %.0f MiB\n", usage.ru_maxrss / 1024.0);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_preference: %s\n", e.what());
        return 1;
    }
}
