#include "eval/benchmark_runner.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "train/predict.h"
#include "util/error.h"
#include "util/file_util.h"

namespace lathe {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

Conversation conversationOf(const std::vector<std::string>& turns)
{
    Conversation c;
    for (std::size_t i = 0; i < turns.size(); ++i)
        c.messages.push_back({i % 2 == 0 ? Role::User : Role::Assistant, turns[i]});
    return c;
}

// Right-padded [B, T] ids and mask of `rows`.
std::pair<torch::Tensor, torch::Tensor> padRight(const std::vector<std::vector<TokenId>>& rows, TokenId pad,
                                                 torch::Device device)
{
    std::size_t T = 0;
    for (const auto& r : rows)
        T = std::max(T, r.size());
    auto ids = torch::full({std::int64_t(rows.size()), std::int64_t(T)}, std::int64_t(pad), torch::kLong);
    auto mask = torch::zeros({std::int64_t(rows.size()), std::int64_t(T)}, torch::kLong);
    auto idsA = ids.accessor<std::int64_t, 2>();
    auto maskA = mask.accessor<std::int64_t, 2>();
    for (std::size_t b = 0; b < rows.size(); ++b)
        for (std::size_t t = 0; t < rows[b].size(); ++t) {
            idsA[std::int64_t(b)][std::int64_t(t)] = rows[b][t];
            maskA[std::int64_t(b)][std::int64_t(t)] = 1;
        }
    return {ids.to(device), mask.to(device)};
}

} // namespace

std::vector<TokenId> benchmarkChoiceIds(const Tokenizer& tokenizer)
{
    std::vector<TokenId> ids;
    for (const char* letter : {"A", "B", "C", "D"}) {
        const auto encoded = tokenizer.encode(letter);
        if (encoded.empty())
            fail("the tokenizer encodes \"", letter, "\" to no token; cannot read the choice logits");
        ids.push_back(encoded.back());
    }
    return ids;
}

std::vector<TokenId> benchmarkPromptIds(const TemplateEncoder& encoder, const std::vector<std::string>& turns)
{
    return encoder.encodeOneturn(conversationOf(turns)).prompt;
}

BenchmarkRun runBenchmark(CausalLM& model, const Tokenizer& tokenizer, const TemplateEncoder& encoder,
                          const BenchmarkTask& task, const BenchmarkRunOptions& options, const TrainCallbacks& callbacks)
{
    torch::NoGradGuard noGrad;
    const auto start = Clock::now();
    const EvalTemplate& tpl = evalTemplate(options.lang);
    const std::vector<TokenId> choiceIds = benchmarkChoiceIds(tokenizer);
    const TokenId pad = tokenizer.padId.value_or(tokenizer.eosId.value_or(0));
    const auto device = model->device();
    const auto choiceIndex = torch::tensor(std::vector<std::int64_t>(choiceIds.begin(), choiceIds.end()), torch::kLong).to(device);
    const std::int64_t batch = std::max<std::int64_t>(1, options.batchSize);

    BenchmarkRun run;
    const std::size_t total = task.rowCount();
    std::size_t done = 0;
    auto report = [&] {
        if (!callbacks.progress)
            return;
        TrainProgress p;
        p.step = std::int64_t(done);
        p.totalSteps = std::int64_t(total);
        p.elapsedSeconds = std::chrono::duration<double>(Clock::now() - start).count();
        p.remainingSeconds = done ? p.elapsedSeconds * double(total - done) / double(done) : 0;
        callbacks.progress(p);
    };
    for (const auto& subject : task.subjects) {
        if (callbacks.log)
            callbacks.log("Subject " + subject.key + " (" + subject.name + "): " + std::to_string(subject.rows.size()) + " questions");
        const auto supports = benchmarkSupportSets(subject, options.nShot, options.seed);
        std::vector<char> predictions;
        for (std::size_t r0 = 0; r0 < subject.rows.size(); r0 += std::size_t(batch)) {
            if (callbacks.abort && callbacks.abort->load()) {
                run.aborted = true;
                return run;
            }
            const std::size_t r1 = std::min(subject.rows.size(), r0 + std::size_t(batch));
            if (options.mode == BenchmarkMode::Logits) {
                std::vector<std::vector<TokenId>> prompts;
                for (std::size_t r = r0; r < r1; ++r)
                    prompts.push_back(benchmarkPromptIds(
                        encoder, formatBenchmarkExample(subject.rows[r], supports[r], subject.name, tpl, options.mode)));
                const auto [ids, mask] = padRight(prompts, pad, device);
                const auto hidden = model->hiddenStates(ids, mask);
                const auto last = (mask.sum(1) - 1).to(device);
                const auto lastHidden = hidden.index({torch::arange(hidden.size(0), torch::TensorOptions().dtype(torch::kLong).device(device)), last});
                const auto logits = model->lmHead(lastHidden).to(torch::kFloat32).index_select(1, choiceIndex);
                const auto best = logits.argmax(1).to(torch::kCPU);
                for (std::int64_t b = 0; b < best.size(0); ++b)
                    predictions.push_back(char('A' + best[b].item<std::int64_t>()));
            } else {
                // Four completions per question; labels only on the answer.
                std::vector<std::vector<TokenId>> seqs, labels;
                for (std::size_t r = r0; r < r1; ++r) {
                    auto turns = formatBenchmarkExample(subject.rows[r], supports[r], subject.name, tpl, options.mode);
                    for (int k = 0; k < 4; ++k) {
                        turns.back() = benchmarkAnswer(subject.rows[r], k, options.mode);
                        const TurnIds t = encoder.encodeOneturn(conversationOf(turns));
                        std::vector<TokenId> seq = t.prompt, lab(t.prompt.size(), -100);
                        seq.insert(seq.end(), t.response.begin(), t.response.end());
                        lab.insert(lab.end(), t.response.begin(), t.response.end());
                        seqs.push_back(std::move(seq));
                        labels.push_back(std::move(lab));
                    }
                }
                const auto [ids, mask] = padRight(seqs, pad, device);
                auto [lab, unused] = padRight(labels, -100, device);
                (void)unused;
                const auto hidden = model->hiddenStates(ids, mask);
                const auto logp = model->labelLogProbs(hidden, lab);                 // [N, T-1]
                const auto counts = lab.narrow(1, 1, lab.size(1) - 1).ne(-100).sum(1).clamp_min(1);
                const auto meanLoss = (-logp.sum(1) / counts.to(torch::kFloat32)).reshape({-1, 4}).to(torch::kCPU);
                const auto best = meanLoss.argmin(1);
                for (std::int64_t b = 0; b < best.size(0); ++b)
                    predictions.push_back(char('A' + best[b].item<std::int64_t>()));
            }
            done += r1 - r0;
            report();
        }
        run.predictions.push_back(std::move(predictions));
    }
    run.scores = scoreBenchmark(task, run.predictions);
    run.resultsLog = benchmarkResultsLog(run.scores);
    run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return run;
}

TrainResult runBenchmarkEvaluation(const ArgumentSet& args, const TrainCallbacks& callbacks)
{
    const std::string taskName = args.getString("task");
    if (taskName.empty())
        fail("task: required for benchmark evaluation (mmlu_test, cmmlu_test, ceval_validation)");
    if (args.getString("model_name_or_path").empty())
        fail("model_name_or_path: required for benchmark evaluation");
    const std::string saveDir = args.getString("save_dir");
    std::error_code ec;
    if (!saveDir.empty() && fs::exists(saveDir, ec))
        fail("save_dir: ", saveDir, " already exists; choose a new folder (the results of a run are never overwritten)");

    BenchmarkRunOptions options;
    options.nShot = int(args.getInt("n_shot"));
    options.seed = std::uint64_t(args.getInt("seed"));
    options.lang = args.getString("lang");
    options.mode = args.getString("eval_mode") == "ppl" ? BenchmarkMode::Perplexity : BenchmarkMode::Logits;
    options.batchSize = args.getInt("batch_size");
    evalTemplate(options.lang); // an unknown language fails before anything loads
    const BenchmarkTask task = loadBenchmarkTask(args.getString("task_dir"), taskName, options.nShot > 0);
    if (callbacks.log)
        callbacks.log("Benchmark " + taskName + ": " + std::to_string(task.subjects.size()) + " subjects, " +
                      std::to_string(task.rowCount()) + " questions, " + std::to_string(options.nShot) + "-shot, lang " +
                      options.lang + ", template " + args.getString("template") + ", eval_mode " +
                      args.getString("eval_mode") + "; few-shot examples drawn with seed " +
                      std::to_string(options.seed) + " (LLaMA-Factory draws them unseeded, so its runs differ from each other)");

    InferenceModel loaded = loadInferenceModel(args, callbacks.log);
    const BenchmarkRun run = runBenchmark(loaded.model, *loaded.tokenizer, *loaded.encoder, task, options, callbacks);
    TrainResult result;
    result.outputDir = saveDir;
    result.globalStep = std::int64_t(task.rowCount());
    result.totalSteps = std::int64_t(task.rowCount());
    if (run.aborted) {
        result.aborted = true;
        if (callbacks.log)
            callbacks.log("Benchmark evaluation aborted; nothing written");
        return result;
    }
    nlohmann::ordered_json metrics = nlohmann::ordered_json::object();
    for (const auto& c : benchmarkCategories()) {
        const auto& [correct, total] = run.scores.category.at(c);
        if (total)
            metrics[c] = 100.0 * (double(correct) / double(total));
    }
    result.metrics = nlohmann::json::parse(metrics.dump());
    if (callbacks.log)
        for (std::size_t from = 0; from < run.resultsLog.size();) {
            const auto end = std::min(run.resultsLog.find('\n', from), run.resultsLog.size());
            callbacks.log(run.resultsLog.substr(from, end - from));
            from = end + 1;
        }

    if (!saveDir.empty()) {
        fs::create_directories(saveDir);
        nlohmann::ordered_json results = nlohmann::ordered_json::object();
        for (std::size_t s = 0; s < task.subjects.size(); ++s) {
            nlohmann::ordered_json rows = nlohmann::ordered_json::object();
            for (std::size_t r = 0; r < run.predictions[s].size(); ++r)
                rows[std::to_string(r)] = std::string(1, run.predictions[s][r]);
            results[task.subjects[s].key] = rows;
        }
        writeTextFileAtomic((fs::path(saveDir) / "results.json").string(), results.dump(2));
        writeTextFileAtomic((fs::path(saveDir) / "results.log").string(), run.resultsLog);

        nlohmann::ordered_json summary;
        summary["task"] = taskName;
        summary["model_name_or_path"] = args.getString("model_name_or_path");
        summary["adapter_name_or_path"] = args.getString("adapter_name_or_path");
        summary["template"] = args.getString("template");
        summary["lang"] = options.lang;
        summary["n_shot"] = options.nShot;
        summary["seed"] = options.seed;
        summary["eval_mode"] = args.getString("eval_mode");
        summary["questions"] = task.rowCount();
        summary["seconds"] = run.seconds;
        summary["categories"] = metrics;
        nlohmann::ordered_json subjects = nlohmann::ordered_json::object();
        for (std::size_t s = 0; s < run.scores.subject.size(); ++s) {
            const auto& [key, ct] = run.scores.subject[s];
            subjects[key] = {{"name", task.subjects[s].name},
                             {"category", task.subjects[s].category},
                             {"correct", ct.first},
                             {"total", ct.second},
                             {"accuracy", ct.second ? 100.0 * (double(ct.first) / double(ct.second)) : 0.0}};
        }
        summary["subjects"] = subjects;
        writeTextFileAtomic((fs::path(saveDir) / "results_summary.json").string(), summary.dump(2) + "\n");
        if (callbacks.log)
            callbacks.log("Saved results.log, results.json and results_summary.json to " + saveDir);
    }
    return result;
}

} // namespace lathe
