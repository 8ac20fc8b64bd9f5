// Training objectives: what one stage computes from a batch, its loss and its logged metrics, as
// LLaMA-Factory's trainers compute them (train/{sft,pt,rm,dpo,kto}/trainer.py with trl's losses).
//
// The trainer (trainer.cpp) owns the loop: data, accumulation, clipping, AdamW, schedule, logging,
// evaluation and checkpoints. It asks the stage's objective for the loss of each micro-batch and for the
// metrics logged beside it; everything that differs between stages lives behind this interface. The table of
// objectives is makeObjective() in objective.cpp; the table of stages (their data and arguments) is
// config/stages.cpp. docs/adding-a-training-stage.md walks through adding one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "config/training_arguments.h"
#include "model/causal_lm.h"

namespace lathe {

/// One micro-batch, padded on the right, on the training device.
struct TrainBatch
{
    torch::Tensor inputIds, labels, attentionMask; ///< [R, T]; pairs: the chosen rows, then the rejected rows
    torch::Tensor klInputIds, klLabels, klAttentionMask; ///< feedback data: the KL rows
    torch::Tensor desirable;                             ///< feedback data: kto_tag of each row [R], bool
    std::int64_t examples = 0; ///< examples in the batch (a pair counts once)
    std::int64_t tokens = 0;   ///< non-padding tokens of the rows that train (throughput, tokens seen)
    std::int64_t labeled = 0;  ///< learned next-token positions
};

/// Metrics summed over micro-batches and steps, divided when logged: LLaMA-Factory's stored metrics.
class MetricSums
{
public:
    void add(const std::string& name, double sum, double count = 1);
    void merge(const MetricSums& other);
    /// name -> sum / count in the order first added; rewards/margins derived from the chosen and rejected
    /// rewards when an objective logs those two alone (KTO).
    std::vector<std::pair<std::string, double>> means() const;
    bool empty() const { return m_entries.empty(); }
    void clear() { m_entries.clear(); }

    struct Entry
    {
        std::string name;
        double sum = 0, count = 0;
    };
    const std::vector<Entry>& entries() const { return m_entries; }

private:
    std::vector<Entry> m_entries;
};

struct ObjectiveOutput
{
    torch::Tensor loss;  ///< differentiable scalar; the update backpropagates loss / (sum of weights)
    MetricSums metrics;  ///< logged with the loss (with the eval_ prefix in evaluation)
};

/// What an objective may need from the run once the policy is loaded.
struct ObjectiveSetup
{
    bool lora = false;                ///< the policy trains LoRA adapters (switched off, it is the reference)
    std::string modelPath;            ///< model_name_or_path
    std::vector<std::string> adapters; ///< adapter_name_or_path
    /// Loads a frozen model in the policy's device and dtype, with `adapters` merged (reference models).
    std::function<CausalLM(const std::string& path, const std::vector<std::string>& adapters)> loadFrozen;
    std::function<void(const std::string&)> log;
};

class Objective
{
public:
    virtual ~Objective() = default;

    /// Called once the policy and its adapters are in place, before the first step or a resume.
    virtual void prepare(CausalLM& model, const ObjectiveSetup& setup);
    /// The loss and metrics of one micro-batch. The trainer calls it with gradients on in training and under
    /// NoGradGuard (model in eval mode) when evaluating.
    virtual ObjectiveOutput compute(CausalLM& model, const TrainBatch& batch) = 0;
    /// How much the micro-batch counts in its update: the update's loss is sum(loss) / sum(weight).
    /// Token-level losses weigh by learned tokens (transformers' num_items_in_batch); batch means weigh 1
    /// (the Trainer divides by the accumulation steps).
    virtual double weight(const TrainBatch& batch) const;
    /// Parameters the objective trains itself (a value head), by the names they are saved under.
    virtual std::vector<std::pair<std::string, torch::Tensor>> parameters() { return {}; }
    /// Writes what the objective adds to a saved model or checkpoint folder.
    virtual void save(const std::string& dir) const;
    /// Reads it back (resume, load_best_model_at_end); false when the folder has none.
    virtual bool load(const std::string& dir);
    /// Sequences per example that go through the model with gradients (memory estimate): 2 for pairs.
    virtual int rowsPerExample() const { return 1; }
};

/// The objective of `stage` configured from the arguments; throws lathe::Error for a stage without one or a
/// bad stage argument (an unknown pref_loss, with the closest name).
std::unique_ptr<Objective> makeObjective(const std::string& stage, const TrainingArguments& args);
/// The stages makeObjective knows (checked against config/stages.h by the tests).
std::vector<std::string> objectiveStages();

// ---- the losses, as functions of sequence log-probabilities (exposed for the oracle tests) ---------------

struct PreferenceOptions
{
    std::string loss = "sigmoid"; ///< pref_loss: sigmoid, hinge, ipo, orpo, simpo
    double beta = 0.1;            ///< pref_beta
    double ftx = 0;               ///< pref_ftx
    double labelSmoothing = 0;    ///< dpo_label_smoothing
    double simpoGamma = 0.5;      ///< simpo_gamma
    double bcoWeight = 0;         ///< pref_bco_weight
    std::optional<double> ldAlpha; ///< ld_alpha
    /// The reference model takes part (not orpo / simpo).
    bool usesReference() const { return loss != "orpo" && loss != "simpo"; }
    /// The loss reads length-averaged log-probabilities (ipo, orpo, simpo).
    bool averages() const { return loss == "ipo" || loss == "orpo" || loss == "simpo"; }
};

struct PreferenceLosses
{
    torch::Tensor losses;                         ///< per pair, before pref_ftx
    torch::Tensor chosenRewards, rejectedRewards; ///< detached
};

/// LLaMA-Factory's compute_preference_loss (trl's dpo_loss for sigmoid / hinge / ipo, its own odds-ratio and
/// SimPO losses, the BCO mix with running-mean `bcoDelta`) on policy (c, r) and reference (rc, rr)
/// log-probabilities of the chosen and rejected answers.
PreferenceLosses preferenceLosses(const PreferenceOptions& options, const torch::Tensor& c, const torch::Tensor& r,
                                  const torch::Tensor& rc, const torch::Tensor& rr, double bcoDelta = 0);

/// get_batch_logps' sum from per-position log-probabilities [R, T-1] and the labels [R, T]: the sum over the
/// learned positions of each row, with LD-DPO's weighting when `ldAlpha` is set (the rows are pairs: chosen
/// first). Returns (log-prob sums [R], learned positions [R]).
std::pair<torch::Tensor, torch::Tensor> sequenceLogProbs(const torch::Tensor& tokenLogps, const torch::Tensor& labels,
                                                         std::optional<double> ldAlpha = std::nullopt);

/// trl's kto_loss with LLaMA-Factory's weights: losses of the desirable rows (times kto_chosen_weight) then of
/// the undesirable ones (times kto_rejected_weight), their rewards and the clamped KL estimate.
struct KtoLosses
{
    torch::Tensor losses, chosenRewards, rejectedRewards, kl;
};
KtoLosses ktoLosses(double beta, double chosenWeight, double rejectedWeight, const torch::Tensor& c,
                    const torch::Tensor& r, const torch::Tensor& klLogps, const torch::Tensor& rc,
                    const torch::Tensor& rr, const torch::Tensor& refKlLogps);

} // namespace lathe
