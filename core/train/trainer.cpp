#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <tuple>

#include <malloc.h>

#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include "config/stages.h"
#include "config/training_arguments.h"
#include "data/dataset_attr.h"
#include "data/dataset_loader.h"
#include "data/processor.h"
#include "data/token_cache.h"
#include "io/safetensors.h"
#include "kernels/inference_ops.h"
#include "lora/lora_adapter.h"
#include "model/model_config.h"
#include "model/model_loader.h"
#include "runtime/device.h"
#include "runtime/env_info.h"
#include "template/chat_template.h"
#include "template/template_jinja.h"
#include "template/template_encoder.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_files.h"
#include "train/adamw.h"
#include "train/checkpointer.h"
#include "train/finetuning.h"
#include "train/lr_schedule.h"
#include "train/data_parallel_job.h"
#include "train/objective.h"
#include "train/parallel_adamw.h"
#include "train/run_settings.h"
#include "train/train_data.h"
#include "eval/benchmark_runner.h"
#include "hub/hub_arguments.h"
#include "train/predict.h"
#include "train/trainer_log.h"
#include "util/error.h"
#include "util/memory_limits.h"
#include "util/file_util.h"
#include "util/json_text.h"

namespace lathe {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------------



namespace {

double round4(double v)
{
    return std::round(v * 1e4) / 1e4;
}

std::int64_t procStatusKb(const char* key)
{
    std::ifstream in("/proc/self/status");
    std::string line;
    const std::string prefix = std::string(key) + ":";
    while (std::getline(in, line))
        if (line.rfind(prefix, 0) == 0)
            return std::stoll(line.substr(prefix.size()));
    return 0;
}

std::int64_t peakResidentBytes()
{
    return procStatusKb("VmHWM") * 1024;
}

std::string gib(std::int64_t bytes)
{
    std::ostringstream o;
    o << std::fixed << std::setprecision(2) << double(bytes) / double(1LL << 30) << " GiB";
    return o.str();
}

std::string nowStamp()
{
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

bool isOutOfMemory(const std::exception& e)
{
    const std::string what = e.what();
    return what.find("out of memory") != std::string::npos || what.find("DefaultCPUAllocator") != std::string::npos ||
           dynamic_cast<const std::bad_alloc*>(&e) != nullptr;
}

void writeJson(const fs::path& path, const json& j)
{
    writeTextFileAtomic(path.string(), j.dump(2) + "\n");
}

using Settings = RunSettings;

// ---------------------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------------------

class Run
{
public:
    Run(const ArgumentSet& args, const TrainCallbacks& callbacks)
        : m_args(args), m_s(runSettingsOf(args)), m_cb(callbacks), m_out(m_s.outputDir),
          m_objective(makeObjective(m_s.stage, m_s))
    {
    }

    TrainResult execute();
    /// do_eval without do_train: the stage's loss and metrics on eval_dataset (or dataset) for the model and
    /// its adapters (the last one attached, so a LoRA run's reference is the model without it), written to
    /// eval_results.json and all_results.json.
    TrainResult evaluateOnly();

private:
    void log(const std::string& message);
    bool isMain() const { return m_job.isMain(); }
    void relayWorkerOutput() { m_job.relayOutput(m_cb.log); }
    void prepareOutputDir();
    void prepareData();
    void loadModelAndTrainables();
    void resume(const std::string& checkpoint);
    double evaluate();
    void saveModel(const fs::path& dir);
    void saveFinalModel();
    void saveCheckpoint();
    json trainerState() const;
    void appendRecord(json logEntry);
    void report(std::optional<double> loss, std::optional<double> evalLoss, double lr, double gradNorm,
                const std::vector<std::pair<std::string, double>>& metrics = {});
    TrainBatch batchOf(const ExampleSet& set, const std::vector<std::size_t>& order, std::size_t from,
                       std::size_t count) const;
    std::pair<double, double> timing() const; ///< (elapsed, remaining) seconds
    MemoryEstimate estimateMemory() const;
    std::vector<std::size_t> epochOrder(std::int64_t epoch) const;

    const ArgumentSet& m_args;
    Settings m_s;
    TrainCallbacks m_cb;
    fs::path m_out;
    torch::Device m_device = torch::kCPU;
    torch::ScalarType m_dtype = torch::kFloat32;

    std::shared_ptr<const Tokenizer> m_tokenizer;
    std::unique_ptr<TemplateEncoder> m_encoder;
    TokenId m_padId = 0;
    std::unique_ptr<DataBuilder> m_builder;     // the stage's kind of data
    std::unique_ptr<Objective> m_objective;     // the stage's loss and metrics
    std::vector<std::pair<std::string, torch::Tensor>> m_objectiveParams; // trained by the objective (value head)
    ExampleSet m_train, m_eval;

    CausalLM m_model{nullptr};
    AttachedAdapter m_adapter;                                     // LoRA
    std::vector<std::pair<std::string, torch::Tensor>> m_trainable; // by save name
    std::unique_ptr<ParallelAdamW> m_optimizer;
    DataParallelJob m_job; // the other workers of a data-parallel run (solo for one)
    LrSchedule m_schedule;
    std::unique_ptr<Checkpointer> m_checkpointer; // checkpoint-N folders: save, prune, resume

    std::int64_t m_globalStep = 0, m_totalSteps = 0, m_stepsPerEpoch = 0, m_batchesPerEpoch = 0;
    std::int64_t m_tokensSeen = 0, m_tokensThisRun = 0, m_startStep = 0;
    double m_epoch = 0;
    json m_logHistory = json::array();
    std::vector<nlohmann::ordered_json> m_records;
    double m_elapsedBefore = 0; ///< seconds the run had trained before a resume (its elapsed_time at the checkpoint)
    std::vector<std::pair<std::string, double>> m_lastEvalMetrics;
    std::optional<double> m_bestMetric;
    std::string m_bestCheckpoint;
    std::optional<std::int64_t> m_bestStep;
    Clock::time_point m_start;
    std::ofstream m_runningLog;
    TrainResult m_result;
};

void Run::log(const std::string& message)
{
    if (!isMain()) {
        // Workers other than the first say only what goes wrong; the first logs the job.
        if (m_cb.log && message.rfind("Warning", 0) == 0)
            m_cb.log(message);
        return;
    }
    if (m_runningLog.is_open()) {
        m_runningLog << "[INFO|" << nowStamp() << "] trainer.cpp >> " << message << "\n";
        m_runningLog.flush();
    }
    if (m_cb.log)
        m_cb.log(message);
}

void Run::prepareOutputDir()
{
    std::error_code ec;
    const bool exists = fs::is_directory(m_out, ec);
    if (!m_s.resumeFrom.empty()) {
        if (!fs::is_directory(m_s.resumeFrom))
            fail("resume_from_checkpoint: ", m_s.resumeFrom, " is not a folder");
    } else if (exists && !m_s.overwriteOutputDir) {
        // transformers + LLaMA-Factory: continue from the latest checkpoint, refuse to mix runs otherwise.
        m_s.resumeFrom = lastCheckpoint(m_out.string());
        if (m_s.resumeFrom.empty() && !fs::is_empty(m_out, ec))
            fail("output_dir ", m_out.string(),
                 " already exists and is not empty. Please set `overwrite_output_dir` (or pick another "
                 "output_dir).");
    }
    fs::create_directories(m_out, ec);
    if (ec || !fs::is_directory(m_out))
        fail("output_dir: cannot create ", m_out.string(), ": ", ec ? ec.message() : std::string("not a folder"),
             "; choose a folder you can write to");
    // Leftovers of an earlier writer that was killed: half-written checkpoints and final saves (each writer
    // renames its temporary folder when complete, so any that remains is incomplete).
    for (const auto& entry : fs::directory_iterator(m_out, ec)) {
        const std::string name = entry.path().filename().string();
        const bool partial = (name.rfind(".checkpoint-", 0) == 0 &&
                              (name.size() > 4 && (name.compare(name.size() - 4, 4, ".tmp") == 0 ||
                                                   name.compare(name.size() - 4, 4, ".old") == 0))) ||
                             name == ".final.tmp";
        if (partial) {
            log("Removing the leftover " + entry.path().string() + " of an interrupted save");
            fs::remove_all(entry.path(), ec);
        }
    }
    if (m_s.overwriteOutputDir && m_s.resumeFrom.empty()) {
        fs::remove(m_out / "trainer_log.jsonl", ec);
        // Retire the old run's checkpoints: a later resume must continue this run, not the one overwritten.
        for (const auto& [step, path] : checkpointFolders(m_out)) {
            log("overwrite_output_dir: removing " + path.string() + " of the earlier run");
            fs::remove_all(path, ec);
        }
    }
    m_runningLog.open(m_out / "running_log.txt", m_s.resumeFrom.empty() ? std::ios::trunc : std::ios::app);
    writeTextFileAtomic((m_out / "training_args.yaml").string(), m_args.toYaml());
}

std::string defaultCacheDir()
{
    if (const char* dir = std::getenv("LATHE_CACHE_DIR"); dir && *dir)
        return (fs::path(dir) / "tokens").string();
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
        return (fs::path(xdg) / "lathe" / "tokens").string();
    if (const char* home = std::getenv("HOME"); home && *home)
        return (fs::path(home) / ".cache" / "lathe" / "tokens").string();
    return (fs::temp_directory_path() / "lathe-tokens").string();
}

void Run::prepareData()
{
    m_tokenizer = Tokenizer::fromDirectory(m_s.modelPath);
    std::string templateNote;
    m_encoder = std::make_unique<TemplateEncoder>(
        resolveChatTemplate(m_s.templateName, *m_tokenizer, m_s.modelPath, &templateNote), m_tokenizer);
    if (!templateNote.empty())
        log(templateNote);
    const auto eos = m_encoder->eosId();
    m_padId = m_tokenizer->padId.value_or(eos.value_or(0));
    const auto registry = DatasetRegistry::load(m_s.datasetDir);
    m_builder = makeDataBuilder(m_s.data);

    DataOptions options;
    options.stage = m_s.stage;
    options.modelPath = m_s.modelPath;
    options.templateName = m_s.templateName;
    options.cutoffLen = m_s.cutoffLen;
    options.maxSamples = m_s.maxSamples;
    options.seed = m_s.seed;
    options.workers = int(std::max<std::int64_t>(1, m_s.workers.value_or(1)));
    options.cacheDir = m_s.tokenizedPath.empty() ? defaultCacheDir() : m_s.tokenizedPath;
    options.overwriteCache = m_s.overwriteCache;
    options.packing = m_s.packing;
    options.process.cutoffLen = m_s.cutoffLen;
    options.process.trainOnPrompt = m_s.trainOnPrompt;
    options.process.maskHistory = m_s.maskHistory;
    options.process.chat.enableThinking = m_s.enableThinking;
    if (!m_s.defaultSystem.empty())
        options.process.chat.defaultSystem = m_s.defaultSystem;
    options.log = [this](const std::string& line) { log(line); };
    auto loadNames = [&](const std::vector<std::string>& names, ExampleSet& into) {
        m_builder->load(registry, names, *m_tokenizer, *m_encoder, options, into);
    };
    ExampleSet all;
    loadNames(m_s.datasets, all);
    if (all.size() == 0)
        fail("dataset ", m_args.getString("dataset"), ": no usable examples (see `lathe dataset check --stage ",
             m_s.stage, "`)");

    if (m_s.packing && m_s.data == StageData::Supervised) {
        const std::size_t examples = all.size();
        all = packSupervised(all, m_s.cutoffLen, m_padId);
        log("Packed " + std::to_string(examples) + " examples into " + std::to_string(all.size()) +
            " sequences of " + std::to_string(m_s.cutoffLen) + " tokens");
    }

    if (!m_s.evalDatasets.empty()) {
        loadNames(m_s.evalDatasets, m_eval);
        m_train = std::move(all);
    } else if (m_s.valSize > 0) {
        std::tie(m_train, m_eval) = splitForEvaluation(all, m_s.valSize, m_s.seed);
    } else {
        m_train = std::move(all);
    }
    if (m_eval.size() > 0 && m_s.evalStrategy == "no")
        log("Warning: an evaluation set is given but eval_strategy is \"no\": it is used only with do_eval");
}

void Run::loadModelAndTrainables()
{
    if (m_job.size() == 1)
        m_device = resolveDevice(m_s.device.empty() ? "auto" : m_s.device);
    m_dtype = m_s.bf16 || m_s.pureBf16 ? torch::kBFloat16 : m_s.fp16 ? torch::kHalf : torch::kFloat32;
    log("Loading " + m_s.modelPath + " on " + m_device.str() + " in " + dtypeName(m_dtype));
    LoadOptions load{m_device, m_dtype};
    load.ropeScaling = m_s.ropeScaling;
    load.modelMaxLength = m_s.cutoffLen; // LLaMA-Factory's model_max_length when training
    load.log = [this](const std::string& note) { log(note); };
    m_model = loadModel(m_s.modelPath, load);
    if (m_s.trainFromScratch) {
        reinitialiseWeights(m_model, m_s.seed);
        log("train_from_scratch: weights re-initialised (N(0, " +
            std::to_string(m_model->config().initializer_range) + "))");
    }
    m_model->setGradientCheckpointing(m_s.gradientCheckpointing());
    m_model->setNeftuneAlpha(m_s.neftuneAlpha.value_or(0));

    torch::manual_seed(m_s.seed);
    TrainableWeights weights = chooseTrainableWeights(m_model, m_s, [this](const std::string& line) { log(line); });
    m_adapter = std::move(weights.adapter);
    m_trainable = std::move(weights.params);
    ObjectiveSetup setup;
    setup.lora = m_s.finetuningType == "lora";
    setup.modelPath = m_s.modelPath;
    setup.adapters = m_s.adapters;
    setup.log = [this](const std::string& line) { log(line); };
    setup.loadFrozen = [this](const std::string& path, const std::vector<std::string>& adapters) {
        LoadOptions options{m_device, m_dtype};
        options.ropeScaling = m_s.ropeScaling;
        options.modelMaxLength = m_s.cutoffLen;
        auto frozen = loadModel(path, options);
        for (auto& p : frozen->parameters())
            p.requires_grad_(false);
        if (!adapters.empty())
            loadInferenceAdapters(frozen, adapters, /*mergeAll=*/true);
        frozen->eval();
        return frozen;
    };
    m_objective->prepare(m_model, setup);
    m_objectiveParams = m_objective->parameters();

    std::int64_t trainable = 0, total = 0;
    for (const auto& [name, t] : m_trainable)
        trainable += t.numel();
    for (const auto& [name, t] : m_objectiveParams)
        trainable += t.numel();
    for (const auto& p : m_model->parameters())
        total += p.numel();
    if (m_s.finetuningType == "lora")
        total += trainable;
    std::ostringstream o;
    o << "trainable params: " << trainable << " || all params: " << total << " || trainable%: " << std::fixed
      << std::setprecision(4) << 100.0 * double(trainable) / double(std::max<std::int64_t>(1, total));
    log(o.str());

    auto optimized = m_trainable;
    optimized.insert(optimized.end(), m_objectiveParams.begin(), m_objectiveParams.end());
    std::vector<bool> decay;
    for (const auto& [name, t] : optimized)
        decay.push_back(decaysWeight(name));
    ParallelOptions parallel;
    parallel.zeroStage = m_s.deepSpeed.zeroStage;
    parallel.bucketBytes = std::max<std::int64_t>(1, std::int64_t(m_s.ddpBucketCapMb * double(1 << 20)));
    if (!m_s.deepSpeed.note.empty())
        log("deepspeed: " + m_s.deepSpeed.note);
    m_optimizer = std::make_unique<ParallelAdamW>(
        m_job.comm(), optimized, AdamWOptions{m_s.beta1, m_s.beta2, m_s.adamEps, m_s.weightDecay}, decay, parallel);
    m_optimizer->broadcastParameters(); // every worker starts from rank 0's weights, as DDP does
}

MemoryEstimate Run::estimateMemory() const
{
    const auto& c = m_model->config();
    MemoryEstimate m;
    const std::int64_t width = m_dtype == torch::kFloat32 ? 4 : 2;
    for (const auto& p : m_model->parameters())
        if (!p.requires_grad())
            m.weights += p.numel() * p.element_size();
    // Gradient + two float32 moments; ZeRO stage 1 divides the moments between the workers, stage 2 the
    // gradients too.
    m.workers = m_job.size();
    const int stage = m_optimizer ? m_optimizer->zeroStage() : 0;
    const std::int64_t gradShare = stage >= 2 ? m.workers : 1, momentShare = stage >= 1 ? m.workers : 1;
    for (const auto* list : {&m_trainable, &m_objectiveParams})
        for (const auto& [name, t] : *list) {
            m.trainable += t.numel() * t.element_size();
            m.optimizer += t.numel() * t.element_size() / gradShare + t.numel() * 8 / momentShare;
        }
    if (needsReferenceCopy(m_s))
        for (const auto& p : m_model->parameters())
            m.weights += p.numel() * width;
    // Pairs put two sequences per example through the model; a reference forward runs without gradients and
    // adds nothing to the stored activations.
    m.activations = activationBytes(c, m_s.batchSize * m_objective->rowsPerExample(), m_s.cutoffLen,
                                    m_s.gradientCheckpointing(), width);
    return m;
}

std::vector<std::size_t> Run::epochOrder(std::int64_t epoch) const
{
    // A fresh seeded permutation per epoch (the RandomSampler's role), reproducible on resume.
    std::vector<std::size_t> order(m_train.size());
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(m_s.seed * 1000003ull + std::uint64_t(epoch));
    std::shuffle(order.begin(), order.end(), rng);
    return m_job.shard(std::move(order)); // each worker's part, as DistributedSampler gives it
}

TrainBatch Run::batchOf(const ExampleSet& set, const std::vector<std::size_t>& order, std::size_t from,
                        std::size_t count) const
{
    std::vector<TrainItem> items;
    const std::size_t end = std::min(order.empty() ? set.size() : order.size(), from + count);
    for (std::size_t i = from; i < end; ++i)
        items.push_back(set.at(order.empty() ? i : order[i]));
    return m_builder->collate(items, m_padId, m_device);
}

double Run::evaluate()
{
    torch::NoGradGuard noGrad;
    m_model->eval();
    setLoraTraining(m_model, false);
    const auto start = Clock::now();
    double weighted = 0;
    std::int64_t samples = 0, batches = 0;
    MetricSums metrics;
    for (std::size_t i = 0; i < m_eval.size(); i += std::size_t(m_s.evalBatchSize)) {
        const auto batch = batchOf(m_eval, {}, i, std::size_t(m_s.evalBatchSize));
        const double weight = m_objective->weight(batch);
        if (weight <= 0)
            continue;
        auto out = m_objective->compute(m_model, batch);
        metrics.merge(out.metrics);
        // transformers averages the per-batch mean losses, each repeated for its batch's rows.
        weighted += out.loss.item<double>() / weight * double(batch.examples);
        samples += batch.examples;
        ++batches;
    }
    m_model->train();
    setLoraTraining(m_model, true);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const double loss = samples ? weighted / double(samples) : std::nan("");
    json entry = {{"epoch", m_epoch}, {"eval_loss", round4(loss)}};
    const auto means = metrics.means();
    for (const auto& [name, value] : means)
        entry["eval_" + name] = value;
    entry.update(json{{"eval_runtime", round4(seconds)},
                  {"eval_samples_per_second", std::round(double(samples) / seconds * 1000) / 1000},
                  {"eval_steps_per_second", std::round(double(batches) / seconds * 1000) / 1000},
                  {"num_input_tokens_seen", m_tokensSeen},
                  {"step", m_globalStep}});
    m_logHistory.push_back(entry);
    appendRecord(entry);
    std::string line = "{'eval_loss': " + std::to_string(loss);
    for (const auto& [name, value] : means)
        line += ", 'eval_" + name + "': " + std::to_string(value);
    log(line + ", 'epoch': " + std::to_string(m_epoch) + "}");
    m_lastEvalMetrics = means;
    if (!m_bestMetric || loss < *m_bestMetric) {
        m_bestMetric = loss;
        m_bestStep = m_globalStep;
    }
    return loss;
}

void Run::saveModel(const fs::path& dir)
{
    fs::create_directories(dir);
    if (m_s.finetuningType == "lora") {
        saveLoraAdapter(dir.string(), m_adapter, m_s.modelPath);
    } else {
        NamedTensors tensors;
        for (const auto& item : m_model->named_parameters())
            tensors.emplace_back(item.key(), item.value().detach().to(torch::kCPU).to(m_dtype == torch::kFloat32
                                                                                         ? torch::kFloat32
                                                                                         : torch::kBFloat16));
        saveSafetensorsSharded(dir.string(), tensors, 5ull << 30);
        for (const char* name : {"config.json", "generation_config.json"})
            if (fs::exists(fs::path(m_s.modelPath) / name))
                fs::copy_file(fs::path(m_s.modelPath) / name, dir / name, fs::copy_options::overwrite_existing);
    }
    m_objective->save(dir.string()); // value_head.safetensors for rm
    copyTokenizerFiles(m_s.modelPath, dir.string()); // as the Trainer saves its processing_class
}

void Run::saveFinalModel()
{
    // Written whole into a temporary folder first, then each file renamed into the run folder: a kill during
    // the long write leaves the previous model as it was, and the files change together within moments.
    const fs::path tmp = m_out / ".final.tmp";
    std::error_code ec;
    fs::remove_all(tmp, ec);
    saveModel(tmp);
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(tmp))
        files.push_back(entry.path());
    // Weights before configs: a config never describes weights that are not there yet.
    std::stable_partition(files.begin(), files.end(), [](const fs::path& f) { return f.extension() == ".safetensors"; });
    for (const auto& f : files)
        fs::rename(f, m_out / f.filename());
    fs::remove_all(tmp, ec);
}

json Run::trainerState() const
{
    json state = {
        {"best_global_step", m_bestStep ? json(*m_bestStep) : json(nullptr)},
        {"best_metric", m_bestMetric ? json(*m_bestMetric) : json(nullptr)},
        {"best_model_checkpoint", m_bestCheckpoint.empty() ? json(nullptr) : json(m_bestCheckpoint)},
        {"epoch", m_epoch},
        {"eval_steps", m_s.evalSteps},
        {"global_step", m_globalStep},
        {"is_hyper_param_search", false},
        {"is_local_process_zero", true},
        {"is_world_process_zero", true},
        {"log_history", m_logHistory},
        {"logging_steps", m_s.loggingSteps},
        {"max_steps", m_totalSteps},
        {"num_input_tokens_seen", m_tokensSeen},
        {"num_train_epochs", m_s.maxSteps > 0 ? json(std::int64_t(std::ceil(double(m_totalSteps) /
                                                                            double(m_stepsPerEpoch))))
                                              : json(m_s.epochs)},
        {"save_steps", m_s.saveSteps == std::numeric_limits<std::int64_t>::max() ? 0 : m_s.saveSteps},
        {"stateful_callbacks",
         {{"TrainerControl",
           {{"args",
             {{"should_epoch_stop", false},
              {"should_evaluate", false},
              {"should_log", false},
              {"should_save", true},
              {"should_training_stop", m_globalStep >= m_totalSteps}}},
            {"attributes", json::object()}}}}},
        {"total_flos", 0},
        {"train_batch_size", m_s.batchSize},
        {"trial_name", nullptr},
        {"trial_params", nullptr},
    };
    return state;
}

void Run::saveCheckpoint()
{
    // Every worker takes part (a sharded optimizer state is gathered); the first writes.
    OptimizerState state;
    if (!m_s.saveOnlyModel) {
        state.tensors = m_optimizer->stateTensors();
        state.steps = m_optimizer->steps();
    }
    if (!isMain())
        return;
    if (m_bestStep && *m_bestStep == m_globalStep)
        m_bestCheckpoint = m_checkpointer->folderOf(m_globalStep).string();
    json parallel = nullptr;
    if (m_job.size() > 1)
        parallel = {{"world_size", m_job.size()},
                    {"per_device_train_batch_size", m_s.batchSize},
                    {"gradient_accumulation_steps", m_s.accumulation},
                    {"global_batch_size", m_s.batchSize * m_s.accumulation * m_job.size()},
                    {"zero_stage", m_optimizer->zeroStage()},
                    {"backend", m_job.comm().backend()}};
    m_checkpointer->save(
        m_globalStep, [this](const fs::path& dir) { saveModel(dir); }, state, m_schedule, trainerState(),
        m_args.toYaml(), m_bestCheckpoint, parallel);
}

void Run::appendRecord(json entry)
{
    if (!isMain())
        return;
    // trainer_log.jsonl as LogCallback writes it, keys in its order.
    nlohmann::ordered_json r;
    r["current_steps"] = m_globalStep;
    r["total_steps"] = m_totalSteps;
    if (entry.contains("loss"))
        r["loss"] = entry["loss"];
    if (entry.contains("eval_loss"))
        r["eval_loss"] = entry["eval_loss"];
    if (entry.contains("rewards/accuracies"))
        r["accuracy"] = entry["rewards/accuracies"]; // LogCallback's name for it
    if (entry.contains("learning_rate"))
        r["lr"] = entry["learning_rate"];
    r["epoch"] = m_epoch;
    r["percentage"] = m_totalSteps ? std::round(double(m_globalStep) / double(m_totalSteps) * 10000) / 100 : 100.0;
    const auto [elapsed, remaining] = timing();
    r["elapsed_time"] = formatElapsed(m_elapsedBefore + elapsed); // the whole run's, across resumes
    r["remaining_time"] = formatElapsed(remaining);
    if (elapsed > 0)
        r["throughput"] = std::round(double(m_tokensThisRun) / elapsed * 100) / 100;
    r["total_tokens"] = m_tokensSeen;
    // The stage's metrics under LLaMA-Factory's names (rewards/*, logps/*, eval_rewards/*, ...), which
    // trainer_state.json's log_history carries too: the window's charts and the Runs tab read them here.
    for (const auto& [key, value] : entry.items())
        if (key.find('/') != std::string::npos || key == "kl" || key == "sft_loss" || key == "odds_ratio_loss" ||
            key == "accuracy" || key == "eval_accuracy" || key == "eval_kl" || key == "eval_sft_loss" ||
            key == "eval_odds_ratio_loss")
            r[key] = value;
    m_records.push_back(r);
    writeTrainerLog(m_out / "trainer_log.jsonl", m_records); // whole, renamed: a poller never reads half a line
    if (m_cb.record)
        m_cb.record(r);
}

std::pair<double, double> Run::timing() const
{
    // Seconds since this run's first step, and the rest extrapolated from the steps it made (LogCallback).
    const double elapsed = std::chrono::duration<double>(Clock::now() - m_start).count();
    const std::int64_t done = m_globalStep - m_startStep;
    return {elapsed, done > 0 ? double(m_totalSteps - m_globalStep) * elapsed / double(done) : 0.0};
}

void Run::report(std::optional<double> loss, std::optional<double> evalLoss, double lr, double gradNorm,
                 const std::vector<std::pair<std::string, double>>& metrics)
{
    if (!m_cb.progress || !isMain())
        return;
    TrainProgress p;
    p.step = m_globalStep;
    p.totalSteps = m_totalSteps;
    p.epoch = m_epoch;
    p.loss = loss;
    p.evalLoss = evalLoss;
    p.learningRate = lr;
    p.gradNorm = gradNorm;
    p.metrics = metrics;
    p.tokensSeen = m_tokensSeen;
    std::tie(p.elapsedSeconds, p.remainingSeconds) = timing();
    p.tokensPerSecond = p.elapsedSeconds > 0 ? double(m_tokensThisRun) / p.elapsedSeconds : 0;
    p.elapsedSeconds += m_elapsedBefore; // the whole run's, across resumes
    p.peakMemoryBytes = peakResidentBytes();
    m_cb.progress(p);
}

void Run::resume(const std::string& checkpoint)
{
    auto point = m_checkpointer->resume(checkpoint, m_s.finetuningType == "lora" ? "adapter_model" : "model",
                                        m_trainable);
    // The data order and the optimizer state carry over to any number of workers with the same global batch.
    const std::int64_t global = m_s.batchSize * m_s.accumulation * m_job.size();
    std::int64_t savedWorkers = 1, savedBatch = m_s.batchSize, savedAccumulation = m_s.accumulation;
    if (point.parallel.is_object()) {
        savedWorkers = point.parallel.value("world_size", std::int64_t(1));
        savedBatch = point.parallel.value("per_device_train_batch_size", savedBatch);
        savedAccumulation = point.parallel.value("gradient_accumulation_steps", savedAccumulation);
    } else if (fs::exists(fs::path(checkpoint) / "training_args.yaml")) {
        const auto saved = ArgumentSet::fromYamlFile((fs::path(checkpoint) / "training_args.yaml").string());
        savedBatch = saved.getInt("per_device_train_batch_size");
        savedAccumulation = saved.getInt("gradient_accumulation_steps");
    }
    const std::int64_t savedGlobal = savedWorkers * savedBatch * savedAccumulation;
    if (savedGlobal != global)
        fail("resume_from_checkpoint: ", checkpoint, " was trained with a global batch of ", savedGlobal, " (",
             savedWorkers, " worker(s) x per_device_train_batch_size ", savedBatch, " x gradient_accumulation_steps ",
             savedAccumulation, "); this run's is ", global, " (", m_job.size(), " x ", m_s.batchSize, " x ",
             m_s.accumulation, "). The steps would cover other examples: resume with the same product, e.g. ",
             savedWorkers > 1 ? "nproc_per_node=" + std::to_string(savedWorkers) + " and " : std::string(),
             "per_device_train_batch_size=", savedBatch, " gradient_accumulation_steps=", savedAccumulation);
    if (savedWorkers != m_job.size())
        log("Resuming " + checkpoint + " of " + std::to_string(savedWorkers) + " worker(s) with " +
            std::to_string(m_job.size()) + ": the global batch is the same, so the data order and the optimizer "
            "state carry over");
    if (point.optimizer)
        m_optimizer->loadState(point.optimizer->tensors, point.optimizer->steps,
                               (fs::path(checkpoint) / "optimizer.safetensors").string());
    else
        m_optimizer->loadState({}, 0, checkpoint);
    if (!m_objectiveParams.empty() && !m_objective->load(checkpoint))
        fail("resume_from_checkpoint: ", checkpoint, " lacks what stage ", m_s.stage,
             " trains beside the model (value_head.safetensors)");
    m_globalStep = point.globalStep;
    m_tokensSeen = point.tokensSeen;
    m_logHistory = std::move(point.logHistory);
    m_bestMetric = point.bestMetric;
    m_bestStep = point.bestStep;
    m_bestCheckpoint = point.bestCheckpoint;
    log("Resuming training from " + checkpoint + " at step " + std::to_string(m_globalStep));
    m_result.resumedFrom = checkpoint;

    // trainer_log.jsonl continues, as LLaMA-Factory appends to it: the records up to the checkpoint are kept (those
    // past it were made by steps that are trained again), and the elapsed time goes on from the checkpoint's.
    const fs::path logPath = m_out / "trainer_log.jsonl";
    if (isMain() && fs::exists(logPath)) {
        m_records = trainerLogUpTo(logPath, m_globalStep);
        if (!m_records.empty() && m_records.back().contains("elapsed_time") && m_records.back()["elapsed_time"].is_string())
            m_elapsedBefore = parseElapsed(m_records.back()["elapsed_time"].get<std::string>());
        writeTrainerLog(logPath, m_records);
    }
}

// A training step allocates and frees the same large activations every time. glibc's defaults hand blocks
// above a few MB back to the kernel on free and take fresh zeroed pages on the next malloc, which costs ~10%
// of a CPU step in page clearing; keeping freed memory in the heap avoids it (the peak is unchanged).
void keepFreedMemory()
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 32 << 20); // the largest glibc accepts; also stops its dynamic adjustment
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

TrainResult Run::execute()
{
    // The model folder is checked before anything is created: a wrong path must not leave an output folder
    // behind that then blocks the next start (issue 23).
    ModelConfig::fromDir(m_s.modelPath);
    m_device = m_job.join(m_s, m_args.toYaml(), [this](const std::string& line) { log(line); });
    m_job.inTurn([this] { prepareOutputDir(); },
           [this] {
               // The first worker has prepared the folder (and removed what overwrite_output_dir retires): the
               // others learn from it what the run continues.
               if (m_s.resumeFrom.empty() && !m_s.overwriteOutputDir)
                   m_s.resumeFrom = lastCheckpoint(m_out.string());
           });
    m_checkpointer = std::make_unique<Checkpointer>(Checkpointer::Options{
        m_out, m_s.saveTotalLimit, m_s.saveOnlyModel, [this](const std::string& line) { log(line); }});
    m_start = Clock::now();
    m_job.inTurn([this] { prepareData(); }, [this] { prepareData(); }); // the first fills the token cache
    loadModelAndTrainables();
    if (m_device.is_cpu())
        keepFreedMemory();

    const std::size_t workers = std::size_t(m_job.size());
    const std::size_t shard = (m_train.size() + workers - 1) / workers; // each worker's examples per epoch
    m_batchesPerEpoch = std::int64_t((shard + std::size_t(m_s.batchSize) - 1) / std::size_t(m_s.batchSize));
    m_stepsPerEpoch = std::max<std::int64_t>(1, (m_batchesPerEpoch + m_s.accumulation - 1) / m_s.accumulation);
    m_totalSteps = m_s.maxSteps > 0 ? m_s.maxSteps
                                    : std::int64_t(std::ceil(m_s.epochs * double(m_stepsPerEpoch)));
    m_schedule.type = m_s.lrScheduler;
    m_schedule.totalSteps = m_totalSteps;
    m_schedule.warmupSteps = warmupStepsFor(m_s.warmupSteps, m_s.warmupRatio, m_totalSteps);
    m_schedule.initialLr = m_s.learningRate;
    m_schedule.factor(0); // rejects an unknown type before any work

    const auto memory = estimateMemory();
    log("Memory estimate: " + memory.describe());
    if (m_device.is_cpu()) {
        // A hard limit (ulimit -v, a cgroup) ends an allocation past it with a failed mmap, which the math
        // libraries do not survive cleanly (OpenBLAS retries forever): refuse before starting. MemAvailable is
        // softer (the page cache gives way, swap exists): a warning.
        const MemoryLimits limits = MemoryLimits::current();
        std::string which;
        const std::int64_t headroom = limits.hardHeadroom(&which);
        if (headroom >= 0 && memory.total() > headroom)
            fail("the memory estimate (", gib(memory.total()), ") exceeds what ", which, " leaves this process (",
                 gib(headroom), "; ", limits.describe(), "): raise the limit, or lower per_device_train_batch_size "
                 "or cutoff_len, or keep gradient checkpointing on");
        if (limits.available > 0 && memory.total() > limits.available)
            log("Warning: the estimate (" + gib(memory.total()) + ") exceeds the memory available (" +
                gib(limits.available) + "): lower per_device_train_batch_size or cutoff_len, or keep gradient "
                "checkpointing on");
    }

    if (!m_s.resumeFrom.empty())
        resume(m_s.resumeFrom);
    m_startStep = m_globalStep;
    m_result.outputDir = m_out.string();
    m_result.totalSteps = m_totalSteps;

    log("***** Running training *****");
    log("  Num examples = " + std::to_string(m_train.size()) + ", Num Epochs = " +
        std::to_string(m_s.maxSteps > 0 ? (m_totalSteps + m_stepsPerEpoch - 1) / m_stepsPerEpoch
                                        : std::int64_t(std::ceil(m_s.epochs))));
    log("  Instantaneous batch size per device = " + std::to_string(m_s.batchSize) +
        ", Gradient Accumulation steps = " + std::to_string(m_s.accumulation));
    if (m_job.size() > 1)
        log("  Total train batch size (w. parallel, distributed & accumulation) = " +
            std::to_string(m_s.batchSize * m_s.accumulation * m_job.size()) + " (" + std::to_string(m_job.size()) +
            " workers)");
    log("  Total optimization steps = " + std::to_string(m_totalSteps));

    m_model->train();
    // Threads follow the cores other processes leave free (util/cpu_share.h), up to the count set at the start.
    AdaptiveThreads threads(m_device.is_cpu());
    auto adaptThreads = [&] {
        if (const int now = threads.adapt(1.0))
            log(now < threads.maxThreads() ? "Other processes are using " + std::to_string(threads.maxThreads() - now) +
                                                 " core(s): training on " + std::to_string(now) + " thread(s)"
                                           : "The cores are free again: training on " + std::to_string(now) + " threads");
    };
    const bool evaluating = m_eval.size() > 0 && m_s.evalStrategy == "steps";
    double logLossSum = 0;
    std::int64_t logSteps = 0;
    double lastGradNorm = 0, trainLossSum = 0;
    MetricSums logMetrics; // the stage's metrics since the last log (LLaMA-Factory's stored metrics)
    bool aborted = false;
    const auto abortRequested = [&] { return m_cb.abort && m_cb.abort->load(); };
    const bool distributed = m_job.size() > 1;
    m_start = Clock::now();

    try {
        while (m_globalStep < m_totalSteps && !aborted) {
            const std::int64_t epochIndex = m_globalStep / m_stepsPerEpoch;
            const auto order = epochOrder(epochIndex);
            const std::int64_t firstUpdate = m_globalStep - epochIndex * m_stepsPerEpoch;
            for (std::int64_t update = firstUpdate; update < m_stepsPerEpoch && m_globalStep < m_totalSteps;
                 ++update) {
                const std::int64_t b0 = update * m_s.accumulation;
                const std::int64_t b1 = std::min(m_batchesPerEpoch, b0 + m_s.accumulation);
                std::vector<TrainBatch> micro;
                double totalWeight = 0;
                for (std::int64_t b = b0; b < b1; ++b) {
                    micro.push_back(batchOf(m_train, order, std::size_t(b * m_s.batchSize), std::size_t(m_s.batchSize)));
                    totalWeight += m_objective->weight(micro.back());
                }
                if (distributed) {
                    // The weight of the whole update over every worker: each worker's gradient is its part of
                    // the one a single worker would compute, and the parts are summed (transformers'
                    // num_items_in_batch across devices).
                    totalWeight = m_job.sum(totalWeight);
                }
                // The loss of the update: sum(loss) / sum(weight) over its micro-batches. For token losses
                // every learned token of the accumulated batch counts once (transformers'
                // num_items_in_batch), so accumulation equals one larger batch; batch-mean losses (the
                // preference stages) are divided by the number of micro-batches, as the Trainer does.
                double lossSum = 0;
                std::int64_t updateTokens = 0;
                MetricSums updateMetrics;
                for (std::size_t i = 0; i < micro.size(); ++i) {
                    const auto& batch = micro[i];
                    if (i + 1 == micro.size())
                        m_optimizer->beginLastBackward(); // its gradients are reduced while they are computed
                    auto out = m_objective->compute(m_model, batch);
                    if (totalWeight > 0)
                        (out.loss / totalWeight).backward();
                    lossSum += out.loss.item<double>();
                    (distributed ? updateMetrics : logMetrics).merge(out.metrics);
                    updateTokens += batch.tokens;
                }
                m_optimizer->finishBackward();
                bool peersAbort = false;
                if (distributed) {
                    // The loss, tokens, metrics and stop requests of every worker, so every worker logs and
                    // decides the same.
                    json mine = {{"loss", lossSum}, {"tokens", updateTokens}, {"abort", abortRequested()},
                                 {"metrics", json::array()}};
                    for (const auto& e : updateMetrics.entries())
                        mine["metrics"].push_back({e.name, e.sum, e.count});
                    lossSum = 0;
                    updateTokens = 0;
                    updateMetrics.clear();
                    for (const auto& w : m_job.gather(mine)) {
                        lossSum += w["loss"].get<double>();
                        updateTokens += w["tokens"].get<std::int64_t>();
                        peersAbort = peersAbort || w["abort"].get<bool>();
                        for (const auto& e : w["metrics"])
                            updateMetrics.add(e[0].get<std::string>(), e[1].get<double>(), e[2].get<double>());
                    }
                }
                logMetrics.merge(updateMetrics);
                m_tokensSeen += updateTokens;
                m_tokensThisRun += updateTokens;
                const double stepLoss = totalWeight > 0 ? lossSum / totalWeight : 0;
                lastGradNorm = m_optimizer->clipGradNorm(m_s.maxGradNorm);
                const double lr = m_schedule.lr(m_globalStep);
                m_optimizer->step(lr);
                m_optimizer->zeroGrad();
                ++m_globalStep;
                if (m_globalStep == m_startStep + 1 && distributed) {
                    // What sharding saves: each worker's AdamW moments.
                    const auto bytes = m_job.each(double(m_optimizer->stateBytes()));
                    std::string list;
                    for (std::size_t r = 0; r < bytes.size(); ++r)
                        list += (r ? ", " : "") + std::to_string(std::int64_t(bytes[r]));
                    log("Optimizer state per worker (ZeRO stage " + std::to_string(m_optimizer->zeroStage()) +
                        "): [" + list + "] bytes");
                }
                adaptThreads();
                relayWorkerOutput();
                m_epoch = double(epochIndex) + double(b1) / double(m_batchesPerEpoch);
                m_result.stepLosses.push_back(stepLoss);
                logLossSum += stepLoss;
                trainLossSum += stepLoss;
                ++logSteps;
                const auto stepMetrics = logMetrics.means();
                report(stepLoss, std::nullopt, lr, lastGradNorm, stepMetrics);

                if (m_globalStep % m_s.loggingSteps == 0) {
                    json entry = {{"epoch", m_epoch},
                                  {"grad_norm", lastGradNorm},
                                  {"learning_rate", lr},
                                  {"loss", round4(logLossSum / double(logSteps))},
                                  {"num_input_tokens_seen", m_tokensSeen},
                                  {"step", m_globalStep}};
                    for (const auto& [name, value] : stepMetrics)
                        entry[name] = value;
                    logMetrics.clear();
                    m_logHistory.push_back(entry);
                    appendRecord(entry);
                    std::ostringstream o;
                    o << "{'loss': " << std::fixed << std::setprecision(4) << logLossSum / double(logSteps);
                    for (const auto& [name, value] : stepMetrics)
                        o << ", '" << name << "': " << value;
                    o << ", 'learning_rate': " << std::scientific << std::setprecision(4) << lr
                      << ", 'epoch': " << std::fixed << std::setprecision(2) << m_epoch << "}";
                    log(o.str());
                    logLossSum = 0;
                    logSteps = 0;
                }
                if (evaluating && m_globalStep % m_s.evalSteps == 0 && isMain()) {
                    const double evalLoss = evaluate();
                    std::vector<std::pair<std::string, double>> evalMetrics;
                    for (const auto& [name, value] : m_lastEvalMetrics)
                        evalMetrics.emplace_back("eval_" + name, value);
                    report(std::nullopt, evalLoss, lr, lastGradNorm, evalMetrics);
                }
                aborted = distributed ? peersAbort : abortRequested();
                if (m_globalStep % m_s.saveSteps == 0 || (aborted && m_globalStep > m_startStep))
                    saveCheckpoint();
                if (aborted) {
                    log("Training aborted at step " + std::to_string(m_globalStep));
                    break;
                }
            }
        }
    } catch (const Error& e) {
        relayWorkerOutput();
        if (distributed)
            fail(m_job.explain(e.what(), m_out.string()));
        throw;
    } catch (const std::exception& e) {
        relayWorkerOutput();
        if (isOutOfMemory(e))
            fail("out of memory at step ", m_globalStep + 1, ": lower per_device_train_batch_size or cutoff_len, "
                 "or keep gradient checkpointing on (", e.what(), ")");
        fail("training failed at step ", m_globalStep + 1, ": ", e.what());
    }

    const double runtime = std::chrono::duration<double>(Clock::now() - m_start).count();
    if (distributed && m_globalStep > m_startStep) {
        const double steps = double(m_globalStep - m_startStep);
        std::ostringstream o;
        o << std::fixed << std::setprecision(2) << "Collectives (" << m_job.comm().backend() << "): "
          << double(m_job.comm().bytesSent()) / steps / 1e6 << " MB sent per step by this worker, "
          << m_job.comm().secondsWaiting() / steps * 1e3 << " ms per step waiting on them, of "
          << runtime / steps * 1e3 << " ms per step";
        log(o.str());
    }
    m_result.rank = m_job.rank();
    m_result.globalStep = m_globalStep;
    m_result.aborted = aborted;
    if (!isMain())
        return m_result; // the first worker writes the model and the results
    if (m_s.loadBestAtEnd && !m_bestCheckpoint.empty() && !aborted) {
        log("Loading best model from " + m_bestCheckpoint + " (score: " + std::to_string(*m_bestMetric) + ")");
        torch::NoGradGuard noGrad;
        const auto store = m_s.finetuningType == "lora" ? WeightStore::openDir(m_bestCheckpoint, "adapter_model")
                                                         : WeightStore::openDir(m_bestCheckpoint, "model");
        for (auto& [name, t] : m_trainable)
            t.copy_(store.get(name));
        m_objective->load(m_bestCheckpoint);
    }

    const std::int64_t steps = m_globalStep - m_startStep;
    json train = {{"epoch", m_epoch},
                  {"num_input_tokens_seen", m_tokensSeen},
                  {"total_flos", 0},
                  {"train_loss", steps ? trainLossSum / double(steps) : 0.0},
                  {"train_runtime", round4(runtime)},
                  {"train_samples_per_second",
                   std::round(double(steps * m_s.batchSize * m_s.accumulation) / runtime * 1000) / 1000},
                  {"train_steps_per_second", std::round(double(steps) / runtime * 1000) / 1000}};
    json summary = train;
    summary["step"] = m_globalStep;
    m_logHistory.push_back(summary);
    appendRecord(json::object());

    saveFinalModel();
    writeJson(m_out / "trainer_state.json", trainerState());
    writeJson(m_out / "train_results.json", train);
    json all = train;
    if (m_s.doEval && m_eval.size() > 0 && !aborted) {
        const double loss = evaluate();
        json ev = {{"epoch", m_epoch}, {"eval_loss", loss}};
        for (const auto& [name, value] : m_lastEvalMetrics)
            ev["eval_" + name] = value;
        writeJson(m_out / "eval_results.json", ev);
        all.update(ev);
    }
    writeJson(m_out / "all_results.json", all);
    log("Saved the model to " + m_out.string());
    if (m_args.getBool("do_predict") && !aborted) {
        // After train and eval, as LLaMA-Factory's run_sft; the predict_* entries join all_results.json.
        m_model->eval();
        if (m_s.finetuningType == "lora")
            setLoraTraining(m_model, false);
        TrainCallbacks predictCallbacks; // the log and abort; no progress reports into the training's chart
        predictCallbacks.log = [this](const std::string& line) { log(line); };
        predictCallbacks.abort = m_cb.abort;
        const auto predicted =
            runPrediction(m_model, *m_tokenizer, *m_encoder, m_args, m_out.string(), predictCallbacks, false);
        aborted = predicted.aborted;
        all.update(predicted.metrics);
    }

    m_job.finish(120, [this](const std::string& line) { log(line); });
    m_result.globalStep = m_globalStep;
    m_result.aborted = aborted;
    m_result.metrics = all;
    return m_result;
}

} // namespace

TrainResult Run::evaluateOnly()
{
    fs::create_directories(m_out);
    m_runningLog.open(m_out / "running_log.txt", std::ios::trunc);
    m_start = Clock::now();
    if (m_s.evalDatasets.empty())
        m_s.evalDatasets = m_s.datasets; // evaluate on `dataset` when no eval_dataset is named
    m_s.datasets = m_s.evalDatasets;
    m_s.evalDatasets.clear();
    m_s.valSize = 0;
    prepareData(); // with only evaluation datasets, everything lands in the training set
    m_eval = std::move(m_train);
    loadModelAndTrainables();
    log("***** Running Evaluation *****");
    log("  Num examples = " + std::to_string(m_eval.size()) + ", Batch size = " + std::to_string(m_s.evalBatchSize));
    const double loss = evaluate();
    json ev = {{"eval_loss", loss}};
    for (const auto& [name, value] : m_lastEvalMetrics)
        ev["eval_" + name] = value;
    writeJson(m_out / "eval_results.json", ev);
    writeJson(m_out / "all_results.json", ev);
    log("Saved the evaluation results to " + (m_out / "eval_results.json").string());
    m_result.outputDir = m_out.string();
    m_result.metrics = ev;
    return m_result;
}

TrainResult runTraining(const ArgumentSet& given, const TrainCallbacks& callbacks)
{
    // Hub ids become local folders first (a no-op for folders: the CLI has resolved them already).
    ArgumentSet args = given;
    {
        HubOptions hub;
        hub.log = callbacks.log;
        hub.cancel = callbacks.abort;
        if (callbacks.progress)
            hub.progress = [&](const HubProgress& p) {
                TrainProgress t; // the download as progress: bytes in MB, so the window's bar moves
                t.step = p.bytesDone >> 20;
                t.totalSteps = std::max<std::int64_t>(1, p.bytesTotal >> 20);
                t.remainingSeconds = p.secondsLeft;
                callbacks.progress(t);
            };
        resolveHubArguments(args, hub);
    }
    if (!args.getBool("do_train") && !args.getString("task").empty())
        return runBenchmarkEvaluation(args, callbacks); // lathe eval's benchmark, from the window's Evaluate tab
    if (!args.getBool("do_train") && args.getBool("do_predict"))
        return runPredictOnly(args, callbacks);
    const UnfusedOpsScope exactOps; // no-grad forwards compute what the graph-recording ones do
    Run run(args, callbacks);
    if (!args.getBool("do_train") && args.getBool("do_eval"))
        return run.evaluateOnly();
    return run.execute();
}

} // namespace lathe
