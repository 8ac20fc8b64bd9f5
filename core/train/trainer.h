// Training (stages sft, pt, rm, dpo, kto; config/stages.h) with LoRA, freeze or full fine-tuning, writing a
// run folder as LLaMA-Factory + transformers' Trainer do (reference section 5): the adapter or weights,
// trainer_log.jsonl, trainer_state.json with log_history, train/eval/all_results.json, training_args.yaml,
// running_log.txt and checkpoint-N/ folders that resume exactly.
//
// The loop is transformers' Trainer: shuffled batches, gradient accumulation (token losses averaged over every
// learned token of the accumulated batch, batch-mean losses over its micro-batches), clip_grad_norm, AdamW, a
// LambdaLR-style schedule stepped once per update, logs every logging_steps, evaluation every eval_steps,
// checkpoints every save_steps. What differs between stages sits behind three seams
// (docs/adding-a-training-stage.md): the stage table (config/stages.h), a data builder per kind of data
// (train/train_data.h) and an objective per stage (train/objective.h); the arguments arrive bound to the
// schema (config/training_arguments.h), and checkpoints are written, pruned and read by train/checkpointer.h
// (what an exact resume needs, in a temporary folder renamed when complete).
//
// Files Lathe writes differently from Python (no pickles): optimizer.safetensors (exp_avg / exp_avg_sq by
// parameter name), scheduler.json, rng_state.safetensors instead of optimizer.pt, scheduler.pt,
// rng_state.pth. Adapters, weights and the JSON files are byte-compatible with PEFT and transformers.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/argument_schema.h"

namespace lathe {

/// What the loop reports after each optimizer step and each log (the window's charts and progress bar).
struct TrainProgress
{
    std::int64_t step = 0, totalSteps = 0;
    double epoch = 0;
    std::optional<double> loss;     ///< this step's loss (mean over its learned tokens)
    std::optional<double> evalLoss; ///< set on the report right after an evaluation
    double learningRate = 0;
    double gradNorm = 0;
    double tokensPerSecond = 0;
    std::int64_t tokensSeen = 0;
    double elapsedSeconds = 0, remainingSeconds = 0;
    std::int64_t peakMemoryBytes = 0; ///< peak resident memory of the process (CPU) so far
    /// The stage's metrics under LLaMA-Factory's names: since the last log on a step report (rewards/accuracies,
    /// rewards/margins, ...), with the eval_ prefix on the report after an evaluation.
    std::vector<std::pair<std::string, double>> metrics;
};

struct TrainCallbacks
{
    /// Lines of the running log (also written to running_log.txt).
    std::function<void(const std::string&)> log;
    /// Every optimizer step and every evaluation.
    std::function<void(const TrainProgress&)> progress;
    /// Every record appended to trainer_log.jsonl.
    std::function<void(const nlohmann::ordered_json&)> record;
    /// Set from another thread to stop: the loop finishes the current step, saves a checkpoint and the model.
    const std::atomic<bool>* abort = nullptr;
};

struct TrainResult
{
    std::string outputDir;
    std::int64_t globalStep = 0;
    std::int64_t totalSteps = 0;
    bool aborted = false;
    std::optional<std::string> resumedFrom; ///< the checkpoint the run continued
    nlohmann::json metrics;                 ///< all_results.json
    std::vector<double> stepLosses;         ///< loss of each step this run made, in order (over all workers)
    int rank = 0;                           ///< this worker's rank; only rank 0 writes the run folder
};

/// The memory a run needs, estimated before loading anything big.
struct MemoryEstimate
{
    std::int64_t weights = 0;     ///< base weights in the compute dtype
    std::int64_t trainable = 0;   ///< trainable parameters (float32 unless pure_bf16)
    std::int64_t optimizer = 0;   ///< gradients + AdamW moments
    std::int64_t activations = 0; ///< saved activations and logits for one micro-batch at cutoff_len
    int workers = 1;              ///< data-parallel workers: the figures are each one's
    std::int64_t total() const { return weights + trainable + optimizer + activations; }
    std::string describe() const;
};

struct ModelConfig;
struct TrainingArguments;

/// The estimate for the arguments before anything is loaded: the shapes from model_name_or_path's
/// config.json, the trainable parameters from finetuning_type (LoRA rank and targets, freeze layers), the
/// activations from the batch size, cutoff_len and gradient checkpointing. The Train tab shows it before
/// Start; the trainer logs its own, from the loaded model, before the first step. Throws lathe::Error when
/// the model folder has no readable config.json.
MemoryEstimate estimateTrainingMemory(const ArgumentSet& args);

/// Whether the run holds a frozen reference model beside the policy: dpo (not orpo / simpo) and kto with full
/// or freeze tuning, or with ref_model (with LoRA the reference is the policy with its adapter off).
bool needsReferenceCopy(const TrainingArguments& args);

/// The activations part of the estimate (`width`: bytes per element of the compute dtype).
std::int64_t activationBytes(const ModelConfig& config, std::int64_t batchSize, std::int64_t cutoffLen,
                             bool gradientCheckpointing, std::int64_t width);

/// MemAvailable of /proc/meminfo in bytes (0 where it cannot be read).
std::int64_t availableHostBytes();

/// Runs the training the arguments describe (`lathe train`, the window's Start button). Throws lathe::Error
/// with a message for the user on bad settings, data or out-of-memory; never exits the process.
TrainResult runTraining(const ArgumentSet& args, const TrainCallbacks& callbacks = {});

/// The latest `checkpoint-N` folder of `outputDir` (transformers' get_last_checkpoint), or "" when none.
std::string lastCheckpoint(const std::string& outputDir);

/// "H:MM:SS" as Python's str(timedelta(seconds=int(s))) prints it.
std::string formatElapsed(double seconds);
/// The seconds of such a string ("1:02:03", "2 days, 1:02:03"); 0 when it is not one.
double parseElapsed(const std::string& text);

} // namespace lathe
