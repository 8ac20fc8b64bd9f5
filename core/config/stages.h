// The training stages, in one table: what the schema's `stage` choices, the window's Stage list, the CLI and
// the trainer all read. A stage names the kind of data it trains on (which data builder prepares it), whether
// Lathe trains it (and why not), and the arguments that belong to it (the window's RLHF group shows those of
// the chosen stage only).
//
// Adding a stage: its line in stages.cpp, and its objective in core/train/objective.cpp's factory table
// (docs/adding-a-training-stage.md). tst_preference checks that the two lists agree.
#pragma once

#include <string>
#include <vector>

namespace lathe {

/// The data a stage trains on (LLaMA-Factory's processors).
enum class StageData
{
    Supervised,   ///< prompt + response, prompt masked (sft)
    Unsupervised, ///< plain text, cut or packed into blocks (pt)
    Pairwise,     ///< prompt + chosen / rejected (rm, dpo): "ranking": true datasets
    Feedback,     ///< prompt + response with a kto_tag, plus the KL pairing (kto)
};

struct StageInfo
{
    std::string name;    ///< the `stage` value: sft, pt, rm, dpo, kto, ppo
    std::string title;   ///< LLaMA-Board's label (English; the window translates it)
    StageData data = StageData::Supervised;
    bool available = true;      ///< Lathe trains it
    std::string unavailableWhy; ///< when not available: the reason, for the window's tooltip and the CLI
    std::vector<std::string> keys; ///< arguments that only this stage reads (the RLHF group shows them)
};

/// Every stage, in LLaMA-Board's order (sft, rm, ppo, dpo, kto, pt).
const std::vector<StageInfo>& trainingStages();
/// The stage named `name`, or nullptr.
const StageInfo* findStage(const std::string& name);
/// Whether the stage's data is pairs (`ranking: true` datasets).
bool stageUsesRanking(const std::string& name);

} // namespace lathe
