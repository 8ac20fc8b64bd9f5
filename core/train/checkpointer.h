// Checkpoints of a run (transformers' Trainer._save_checkpoint / _load_from_checkpoint / _rotate_checkpoints):
// `checkpoint-N/` folders holding what an exact resume needs, written atomically, pruned to
// save_total_limit (never the best one), and read back on resume.
//
// A checkpoint is the model part (what the run saves as its model: the adapter or the weights, the
// tokenizer files, and what the stage's objective adds, such as value_head.safetensors), then
// optimizer.safetensors (AdamW moments by parameter name), scheduler.json, rng_state.safetensors,
// trainer_state.json and training_args.yaml. It is written to `.checkpoint-N.tmp` and renamed when complete,
// so a crash or an abort mid-save leaves the previous checkpoint as it was.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

namespace lathe {

struct LrSchedule;

/// AdamW's moments by "<name>.exp_avg" / "<name>.exp_avg_sq" and its step count.
struct OptimizerState
{
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    std::int64_t steps = 0;
};

/// The checkpoint-N folders of `outputDir`, by step (transformers' _sorted_checkpoints).
std::vector<std::pair<long long, std::filesystem::path>> checkpointFolders(const std::filesystem::path& outputDir);

/// trainer_state.json's progress part, which a resume restores.
struct ResumePoint
{
    std::int64_t globalStep = 0;
    std::int64_t tokensSeen = 0;
    nlohmann::json logHistory = nlohmann::json::array();
    std::optional<double> bestMetric;
    std::optional<std::int64_t> bestStep;
    std::string bestCheckpoint;
    /// optimizer.safetensors; nullopt when the checkpoint has none (save_only_model).
    std::optional<OptimizerState> optimizer;
    /// parallel.json: the data-parallel layout that made it (null for a checkpoint of one worker).
    nlohmann::json parallel;
};

class Checkpointer
{
public:
    struct Options
    {
        std::filesystem::path outputDir;
        std::optional<std::int64_t> saveTotalLimit; ///< save_total_limit
        bool saveOnlyModel = false;                 ///< save_only_model: no optimizer, scheduler or RNG state
        std::function<void(const std::string&)> log;
    };
    explicit Checkpointer(Options options);

    /// Writes checkpoint-`step`: `writeModel(folder)` first, then the optimizer, scheduler and RNG state,
    /// `trainerState`, `argsYaml` and `parallel` (parallel.json, when not null); renamed into place when
    /// complete, then the oldest beyond save_total_limit are deleted except `keep` (the best checkpoint).
    /// Returns the folder.
    std::filesystem::path save(std::int64_t step, const std::function<void(const std::filesystem::path&)>& writeModel,
                               const OptimizerState& optimizer, const LrSchedule& schedule,
                               const nlohmann::json& trainerState, const std::string& argsYaml, const std::string& keep,
                               const nlohmann::json& parallel = nullptr);

    /// The folder save() writes for `step`.
    std::filesystem::path folderOf(std::int64_t step) const;

    /// Reads checkpoint `dir`: its trainer_state.json progress, the tensors of `weights` (copied bit for bit
    /// from the checkpoint's `weightsPrefix` safetensors: "adapter_model" or "model"), the AdamW moments (in
    /// the point, for the optimizer to take) and the RNG state. Throws lathe::Error naming the file and tensor
    /// when something is missing or mis-shaped.
    ResumePoint resume(const std::string& dir, const std::string& weightsPrefix,
                       std::vector<std::pair<std::string, torch::Tensor>>& weights);

private:
    void prune(const std::string& keep);

    Options m_o;
};

} // namespace lathe
