#include "train/checkpointer.h"

#include <algorithm>

#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include "io/safetensors.h"
#include "train/lr_schedule.h"
#include "train/trainer.h"
#include "util/error.h"
#include "util/file_util.h"
#include "util/json_text.h"

namespace lathe {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::pair<long long, fs::path>> checkpointFolders(const fs::path& outputDir)
{
    std::vector<std::pair<long long, fs::path>> found;
    std::error_code ec;
    if (!fs::is_directory(outputDir, ec))
        return found;
    for (const auto& entry : fs::directory_iterator(outputDir, ec)) {
        const std::string name = entry.path().filename().string();
        if (!entry.is_directory() || name.rfind("checkpoint-", 0) != 0)
            continue;
        const std::string digits = name.substr(11);
        if (!digits.empty() && std::all_of(digits.begin(), digits.end(), ::isdigit))
            found.emplace_back(std::stoll(digits), entry.path());
    }
    std::sort(found.begin(), found.end());
    return found;
}

std::string lastCheckpoint(const std::string& outputDir)
{
    const auto found = checkpointFolders(outputDir);
    return found.empty() ? std::string() : found.back().second.string();
}

namespace {

void writeJson(const fs::path& path, const json& j)
{
    writeTextFileAtomic(path.string(), j.dump(2) + "\n");
}

} // namespace

Checkpointer::Checkpointer(Options options) : m_o(std::move(options)) {}

fs::path Checkpointer::folderOf(std::int64_t step) const
{
    return m_o.outputDir / ("checkpoint-" + std::to_string(step));
}

fs::path Checkpointer::save(std::int64_t step, const std::function<void(const fs::path&)>& writeModel,
                            const OptimizerState& optimizer, const LrSchedule& schedule, const json& trainerState,
                            const std::string& argsYaml, const std::string& keep, const json& parallel)
{
    const std::string name = "checkpoint-" + std::to_string(step);
    const fs::path final = folderOf(step);
    const fs::path tmp = m_o.outputDir / ("." + name + ".tmp");
    std::error_code ec;
    fs::remove_all(tmp, ec);
    writeModel(tmp);
    if (!m_o.saveOnlyModel) {
        saveSafetensors((tmp / "optimizer.safetensors").string(), optimizer.tensors,
                        {{"format", "lathe"}, {"step", std::to_string(optimizer.steps)}});
        writeJson(tmp / "scheduler.json", {{"type", schedule.type},
                                           {"last_epoch", step},
                                           {"warmup_steps", schedule.warmupSteps},
                                           {"total_steps", schedule.totalSteps},
                                           {"base_lr", schedule.initialLr}});
        NamedTensors rng = {{"cpu", at::detail::getDefaultCPUGenerator().get_state()}};
        saveSafetensors((tmp / "rng_state.safetensors").string(), rng);
    }
    writeJson(tmp / "trainer_state.json", trainerState);
    if (!parallel.is_null())
        writeJson(tmp / "parallel.json", parallel);
    writeTextFileAtomic((tmp / "training_args.yaml").string(), argsYaml);
    // Complete before it gets its name: a crash leaves either the old checkpoint-N or the new one.
    if (fs::exists(final)) {
        const fs::path old = m_o.outputDir / ("." + name + ".old");
        fs::remove_all(old, ec);
        fs::rename(final, old);
        fs::rename(tmp, final);
        fs::remove_all(old, ec);
    } else {
        fs::rename(tmp, final);
    }
    if (m_o.log)
        m_o.log("Saving model checkpoint to " + final.string());
    prune(keep);
    return final;
}

void Checkpointer::prune(const std::string& keep)
{
    if (!m_o.saveTotalLimit || *m_o.saveTotalLimit <= 0)
        return;
    const auto found = checkpointFolders(m_o.outputDir);
    // transformers keeps the best checkpoint however old it is.
    long long excess = std::int64_t(found.size()) - *m_o.saveTotalLimit;
    for (const auto& [step, path] : found) {
        if (excess <= 0)
            break;
        if (path.string() == keep)
            continue;
        if (m_o.log)
            m_o.log("Deleting older checkpoint [" + path.string() + "] due to args.save_total_limit");
        fs::remove_all(path);
        --excess;
    }
}

ResumePoint Checkpointer::resume(const std::string& checkpoint, const std::string& weightsPrefix,
                                 std::vector<std::pair<std::string, torch::Tensor>>& weights)
{
    const fs::path dir(checkpoint);
    const auto statePath = dir / "trainer_state.json";
    if (!fs::exists(statePath))
        fail("resume_from_checkpoint: ", checkpoint, " has no trainer_state.json (not a checkpoint)");
    ResumePoint point;
    try {
        const json state = parseJson<json>(readTextFile(statePath.string()), statePath.string());
        point.globalStep = state.at("global_step").get<std::int64_t>();
        point.logHistory = state.value("log_history", json::array());
        point.tokensSeen = state.value("num_input_tokens_seen", std::int64_t(0));
        if (state.contains("best_metric") && !state["best_metric"].is_null())
            point.bestMetric = state["best_metric"].get<double>();
        if (state.contains("best_global_step") && !state["best_global_step"].is_null())
            point.bestStep = state["best_global_step"].get<std::int64_t>();
        if (state.contains("best_model_checkpoint") && !state["best_model_checkpoint"].is_null())
            point.bestCheckpoint = state["best_model_checkpoint"].get<std::string>();
    } catch (const json::exception& e) {
        fail(statePath.string(), ": ", e.what());
    }
    if (fs::exists(dir / "parallel.json"))
        point.parallel = parseJson<json>(readTextFile((dir / "parallel.json").string()), (dir / "parallel.json").string());
    // Weights: copied into the tensors the optimizer holds, bit for bit.
    torch::NoGradGuard noGrad;
    const auto store = WeightStore::openDir(dir.string(), weightsPrefix);
    for (auto& [name, t] : weights) {
        if (!store.contains(name))
            fail(store.description(), ": no tensor ", name, " to resume from (was it made with other settings?)");
        auto saved = store.get(name);
        if (!saved.sizes().equals(t.sizes()))
            fail(store.fileOf(name), ": ", name, " has shape ", saved.sizes(), ", the run needs ", t.sizes());
        t.copy_(saved);
    }
    if (fs::exists(dir / "optimizer.safetensors")) {
        const auto opt = WeightStore::openFile((dir / "optimizer.safetensors").string());
        OptimizerState state;
        for (const auto& n : opt.names())
            state.tensors.emplace_back(n, opt.get(n));
        state.steps = point.globalStep;
        point.optimizer = std::move(state);
        const auto rng = WeightStore::openFile((dir / "rng_state.safetensors").string());
        auto generator = at::detail::getDefaultCPUGenerator();
        generator.set_state(rng.get("cpu").clone());
    } else {
        if (m_o.log)
            m_o.log("Warning: " + checkpoint + " has no optimizer state (save_only_model): AdamW restarts from zero");
    }
    return point;
}

} // namespace lathe
